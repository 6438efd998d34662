//! Instruction handlers, one per file.

pub mod approve;
pub mod cancel;
pub mod close;
pub mod execute_config_change;
pub mod execute_migration;
pub mod execute_upgrade;
pub mod expire;
pub mod extend_program;
pub mod initialize_governance;
pub mod migrate_batch;
pub mod propose;
pub mod register_program;
pub mod reject;
pub mod revoke_approval;

pub use approve::*;
pub use cancel::*;
pub use close::*;
pub use execute_config_change::*;
pub use execute_migration::*;
pub use execute_upgrade::*;
pub use expire::*;
pub use extend_program::*;
pub use initialize_governance::*;
pub use migrate_batch::*;
pub use propose::*;
pub use register_program::*;
pub use reject::*;
pub use revoke_approval::*;
