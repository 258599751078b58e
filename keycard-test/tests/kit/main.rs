//! The kit's own tests: the identity provider's answers and fault modes over real HTTP, and the
//! redis-server guard against a real server.

mod provider;
mod redis;
