//! Memberships: role grants, the division and locations of a user, planned and
//! undone as pure decisions (the runner reads and writes around them).

pub mod division;
pub mod locations;
pub mod lookup;
pub mod roles;
pub mod writes;
