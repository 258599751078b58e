//! keycard-axum beside jwt-authorizer over real sockets (issue 23). `serve KIND` is one server;
//! without arguments (or with options) the binary is the runner, which starts every server
//! itself; `claims` counts the allocations of reading the claims. See README.md.

mod alloc;
mod fixtures;
mod runner;
mod servers;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("serve") {
        args.next();
        let kind = args.next().unwrap_or_default();
        servers::serve(&kind);
    } else if args.peek().map(String::as_str) == Some("claims") {
        servers::claims();
    } else {
        runner::run(runner::Options::parse(args));
    }
}
