//! Account types, one per file.

pub mod buffer_lock;
pub mod governance;
pub mod managed_program;
pub mod migration;
pub mod proposal;

pub use buffer_lock::*;
pub use governance::*;
pub use managed_program::*;
pub use migration::*;
pub use proposal::*;
