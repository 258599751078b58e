//! The in-memory stores against keycard-test's store conformance suite, the reference every
//! other backend is held to.

use keycard_test::conformance::{self, Memory};

#[tokio::test(flavor = "current_thread")]
async fn the_memory_stores_pass_the_store_conformance_suite() {
    conformance::run(&Memory).await;
}
