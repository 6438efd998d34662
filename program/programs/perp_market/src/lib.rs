//! `perp_market`: the example target program. A small perpetuals market whose position accounts
//! exist in two layouts, v1 and v2, and whose `migrate_position` instruction, callable only by
//! `upgrade_manager`'s migration-authority PDA for this program, turns a v1 account into v2.
//! This is the v2 binary: it opens positions in the current layout (v2) only, so nobody can
//! make fresh old-layout accounts to spend a migration job's count on; v1 accounts are the
//! ones the previous binary left behind.
//!
//! Position layouts (little-endian; the version byte sits at offset 8):
//! - v1 (59 bytes): discriminator (8) | version = 1 (1) | owner (32) | market_index u16 |
//!   size i64 | collateral u64
//! - v2 (83 bytes): v1's fields with version = 2 | entry_price u64 | realized_pnl i64 |
//!   last_funding_ts i64
#![allow(unexpected_cfgs)]
#![allow(clippy::result_large_err)]
// `#[program]` expands to a call of the deprecated `AccountInfo::realloc`.
#![allow(deprecated)]

use anchor_lang::prelude::*;
use anchor_lang::solana_program::{program::invoke_signed, system_instruction};

declare_id!("PerpMarket111111111111111111111111111111111");

/// The governance program whose migration authority may migrate positions.
pub const UPGRADE_MANAGER_ID: Pubkey = pubkey!("UpgradeMgr111111111111111111111111111111111");
/// Seed of the migration-authority PDA under `UPGRADE_MANAGER_ID`.
pub const MIGRATION_AUTHORITY_SEED: &[u8] = b"migration_authority";
/// Seed of a position: `["position", owner, id (u64 LE)]`.
pub const POSITION_SEED: &[u8] = b"position";
/// Account discriminator of positions: sha256("account:Position")[..8].
pub const POSITION_DISCRIMINATOR: [u8; 8] = [170, 188, 143, 228, 122, 64, 247, 208];
/// Offset of the version byte.
pub const VERSION_OFFSET: usize = 8;
/// Size of a v1 position.
pub const POSITION_V1_LEN: usize = 59;
/// Size of a v2 position.
pub const POSITION_V2_LEN: usize = 83;

/// The address `upgrade_manager` signs migrations of this program with.
pub fn migration_authority() -> Pubkey {
    Pubkey::find_program_address(
        &[MIGRATION_AUTHORITY_SEED, ID.as_ref()],
        &UPGRADE_MANAGER_ID,
    )
    .0
}

#[program]
pub mod perp_market {
    use super::*;

    /// Opens a position in the current layout (v2).
    pub fn open_position(
        ctx: Context<OpenPosition>,
        id: u64,
        market_index: u16,
        size: i64,
        collateral: u64,
    ) -> Result<()> {
        let owner = ctx.accounts.owner.key();
        let (expected, bump) = Pubkey::find_program_address(
            &[POSITION_SEED, owner.as_ref(), &id.to_le_bytes()],
            ctx.program_id,
        );
        require_keys_eq!(
            ctx.accounts.position.key(),
            expected,
            PerpError::WrongPositionAddress
        );
        let rent = Rent::get()?.minimum_balance(POSITION_V2_LEN);
        invoke_signed(
            &system_instruction::create_account(
                &owner,
                &expected,
                rent,
                POSITION_V2_LEN as u64,
                ctx.program_id,
            ),
            &[
                ctx.accounts.owner.to_account_info(),
                ctx.accounts.position.to_account_info(),
                ctx.accounts.system_program.to_account_info(),
            ],
            &[&[POSITION_SEED, owner.as_ref(), &id.to_le_bytes(), &[bump]]],
        )?;
        let mut data = ctx.accounts.position.try_borrow_mut_data()?;
        let now = Clock::get()?.unix_timestamp;
        data.copy_from_slice(&position_v2(&owner, market_index, size, collateral, now));
        Ok(())
    }

    /// Rewrites a v1 position as v2. Only the manager's migration authority may call it.
    pub fn migrate_position(ctx: Context<MigratePosition>) -> Result<()> {
        let a = &ctx.accounts;
        require_keys_eq!(
            a.migration_authority.key(),
            migration_authority(),
            PerpError::NotMigrationAuthority
        );
        let position = a.position.to_account_info();
        {
            let data = position.try_borrow_data()?;
            require!(
                data.len() == POSITION_V1_LEN && data[..8] == POSITION_DISCRIMINATOR,
                PerpError::NotAPosition
            );
            require!(data[VERSION_OFFSET] == 1, PerpError::AlreadyMigrated);
        }
        let needed = Rent::get()?
            .minimum_balance(POSITION_V2_LEN)
            .saturating_sub(position.lamports());
        if needed > 0 {
            anchor_lang::solana_program::program::invoke(
                &system_instruction::transfer(&a.payer.key(), &position.key(), needed),
                &[
                    a.payer.to_account_info(),
                    position.clone(),
                    a.system_program.to_account_info(),
                ],
            )?;
        }
        position.resize(POSITION_V2_LEN)?;
        let mut data = position.try_borrow_mut_data()?;
        let size = i64::from_le_bytes(data[43..51].try_into().unwrap());
        let collateral = u64::from_le_bytes(data[51..59].try_into().unwrap());
        data[VERSION_OFFSET] = 2;
        // v1 did not record an entry price; start from the collateral per unit of size.
        let entry_price = collateral.checked_div(size.unsigned_abs()).unwrap_or(0);
        data[59..67].copy_from_slice(&entry_price.to_le_bytes());
        data[67..75].copy_from_slice(&0i64.to_le_bytes());
        data[75..83].copy_from_slice(&Clock::get()?.unix_timestamp.to_le_bytes());
        Ok(())
    }
}

/// The bytes of a v1 position.
pub fn position_v1(owner: &Pubkey, market_index: u16, size: i64, collateral: u64) -> Vec<u8> {
    let mut data = Vec::with_capacity(POSITION_V1_LEN);
    data.extend_from_slice(&POSITION_DISCRIMINATOR);
    data.push(1);
    data.extend_from_slice(owner.as_ref());
    data.extend_from_slice(&market_index.to_le_bytes());
    data.extend_from_slice(&size.to_le_bytes());
    data.extend_from_slice(&collateral.to_le_bytes());
    data
}

/// The bytes of a v2 position, as `open_position` writes it.
pub fn position_v2(
    owner: &Pubkey,
    market_index: u16,
    size: i64,
    collateral: u64,
    now: i64,
) -> Vec<u8> {
    let mut data = position_v1(owner, market_index, size, collateral);
    data[VERSION_OFFSET] = 2;
    let entry_price = collateral.checked_div(size.unsigned_abs()).unwrap_or(0);
    data.extend_from_slice(&entry_price.to_le_bytes());
    data.extend_from_slice(&0i64.to_le_bytes());
    data.extend_from_slice(&now.to_le_bytes());
    data
}

#[derive(Accounts)]
pub struct OpenPosition<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    /// CHECK: created here at the PDA checked in the handler.
    #[account(mut)]
    pub position: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

#[derive(Accounts)]
pub struct MigratePosition<'info> {
    /// CHECK: a v1 position of this program; layout checked in the handler.
    #[account(mut, owner = crate::ID @ PerpError::NotAPosition)]
    pub position: UncheckedAccount<'info>,
    pub migration_authority: Signer<'info>,
    #[account(mut)]
    pub payer: Signer<'info>,
    pub system_program: Program<'info, System>,
}

#[error_code]
pub enum PerpError {
    #[msg("Position address does not match its seeds")]
    WrongPositionAddress,
    #[msg("Only upgrade_manager's migration authority may migrate positions")]
    NotMigrationAuthority,
    #[msg("Account is not a v1 position")]
    NotAPosition,
    #[msg("Position is already migrated")]
    AlreadyMigrated,
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::solana_program::hash::hash;

    #[test]
    fn discriminator_is_anchors() {
        assert_eq!(
            hash(b"account:Position").to_bytes()[..8],
            POSITION_DISCRIMINATOR
        );
    }

    #[test]
    fn v2_layout_has_its_size() {
        assert_eq!(
            position_v2(&Pubkey::default(), 1, 2, 3, 4).len(),
            POSITION_V2_LEN
        );
    }

    #[test]
    fn v1_layout_has_its_size() {
        assert_eq!(
            position_v1(&Pubkey::default(), 1, 2, 3).len(),
            POSITION_V1_LEN
        );
    }
}
