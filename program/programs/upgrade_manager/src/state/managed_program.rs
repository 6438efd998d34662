use anchor_lang::prelude::*;

use crate::constants::MAX_RELEASES;

/// One deployed binary of a managed program.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, PartialEq, Eq, Debug, InitSpace)]
pub struct Release {
    /// sha256 of the ELF without trailing zero padding (as `solana-verify` computes it).
    pub hash: [u8; 32],
    /// Slot it was deployed in.
    pub slot: u64,
    /// Unix time it was deployed or registered.
    pub deployed_at: i64,
}

/// A program whose upgrade authority is this manager's PDA.
/// PDA: `["managed_program", program_id]`.
#[account]
#[derive(InitSpace)]
pub struct ManagedProgram {
    pub layout_version: u8,
    pub bump: u8,
    /// Bump of the upgrade-authority PDA `["upgrade_authority", program_id]`.
    pub upgrade_authority_bump: u8,
    /// Bump of the migration-authority PDA `["migration_authority", program_id]`.
    pub migration_authority_bump: u8,
    pub governance: Pubkey,
    pub program: Pubkey,
    pub programdata: Pubkey,
    pub upgrade_authority: Pubkey,
    /// Hash of the binary deployed now.
    pub current_hash: [u8; 32],
    /// Slot of the last deployment.
    pub last_deploy_slot: u64,
    /// Releases recorded since registration, including ones that fell out of `releases`.
    pub release_count: u64,
    /// The newest `MAX_RELEASES` releases, oldest first; the last one is the current binary.
    #[max_len(8)]
    pub releases: Vec<Release>,
    pub reserved: [u8; 64],
}

impl ManagedProgram {
    /// Records a deployment, dropping the oldest release when the history is full.
    pub fn record_release(&mut self, release: Release) {
        if self.releases.len() == MAX_RELEASES {
            self.releases.remove(0);
        }
        self.releases.push(release);
        self.current_hash = release.hash;
        self.last_deploy_slot = release.slot;
        self.release_count = self.release_count.saturating_add(1);
    }

    /// Whether `hash` is in the bounded release history.
    pub fn knows_release(&self, hash: &[u8; 32]) -> bool {
        self.releases.iter().any(|r| &r.hash == hash)
    }
}
