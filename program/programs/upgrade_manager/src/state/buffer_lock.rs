use anchor_lang::prelude::*;
use anchor_lang::system_program;

use crate::constants::*;
use crate::errors::UpgradeManagerError;

/// Marks a buffer as backing one open proposal, so no second proposal can name it (and, by
/// cancelling alone, close a buffer others approved). Created by `propose_upgrade` and
/// `propose_rollback`, closed when the proposal ends. PDA: `["buffer_lock", buffer]`.
#[account]
#[derive(InitSpace)]
pub struct BufferLock {
    pub layout_version: u8,
    pub bump: u8,
    pub buffer: Pubkey,
    /// The open proposal the buffer backs.
    pub proposal: Pubkey,
    /// Paid the lock's rent and gets it back when the proposal ends.
    pub payer: Pubkey,
    pub reserved: [u8; 16],
}

impl BufferLock {
    /// The lock's address and bump for `buffer`.
    pub fn address(buffer: &Pubkey, program_id: &Pubkey) -> (Pubkey, u8) {
        Pubkey::find_program_address(&[BUFFER_LOCK_SEED, buffer.as_ref()], program_id)
    }

    /// Creates the lock at `lock` (already checked to be the buffer's PDA with `bump`).
    /// Refuses with `BufferInUse` when a lock exists. Lamports someone sent to the address
    /// beforehand do not block it: they are topped up, as Anchor's `init` does.
    pub fn create<'info>(
        lock: &AccountInfo<'info>,
        bump: u8,
        buffer: Pubkey,
        proposal: Pubkey,
        payer: &AccountInfo<'info>,
        system: &AccountInfo<'info>,
        program_id: &Pubkey,
    ) -> Result<()> {
        require!(
            lock.owner == &system_program::ID && lock.data_is_empty(),
            UpgradeManagerError::BufferInUse
        );
        let space = 8 + Self::INIT_SPACE;
        let rent = Rent::get()?.minimum_balance(space);
        let seeds: &[&[u8]] = &[BUFFER_LOCK_SEED, buffer.as_ref(), &[bump]];
        let held = lock.lamports();
        if held == 0 {
            system_program::create_account(
                CpiContext::new_with_signer(
                    system.clone(),
                    system_program::CreateAccount {
                        from: payer.clone(),
                        to: lock.clone(),
                    },
                    &[seeds],
                ),
                rent,
                space as u64,
                program_id,
            )?;
        } else {
            let top_up = rent.saturating_sub(held);
            if top_up > 0 {
                system_program::transfer(
                    CpiContext::new(
                        system.clone(),
                        system_program::Transfer {
                            from: payer.clone(),
                            to: lock.clone(),
                        },
                    ),
                    top_up,
                )?;
            }
            system_program::allocate(
                CpiContext::new_with_signer(
                    system.clone(),
                    system_program::Allocate {
                        account_to_allocate: lock.clone(),
                    },
                    &[seeds],
                ),
                space as u64,
            )?;
            system_program::assign(
                CpiContext::new_with_signer(
                    system.clone(),
                    system_program::Assign {
                        account_to_assign: lock.clone(),
                    },
                    &[seeds],
                ),
                program_id,
            )?;
        }
        let value = BufferLock {
            layout_version: ACCOUNT_LAYOUT_VERSION,
            bump,
            buffer,
            proposal,
            payer: payer.key(),
            reserved: [0; 16],
        };
        let mut data = lock.try_borrow_mut_data()?;
        value.try_serialize(&mut &mut data[..])?;
        Ok(())
    }

    /// Closes the lock of `buffer` held for `proposal`, if there is one, returning its rent to
    /// `payer`, who must be the one that paid it. A proposal created before locks existed has
    /// none; then nothing happens. Returns whether a lock was closed.
    pub fn close<'info>(
        lock: &AccountInfo<'info>,
        payer: &AccountInfo<'info>,
        buffer: &Pubkey,
        proposal: &Pubkey,
        program_id: &Pubkey,
    ) -> Result<bool> {
        require_keys_eq!(
            lock.key(),
            Self::address(buffer, program_id).0,
            UpgradeManagerError::ProposalAccountMismatch
        );
        if lock.owner != program_id {
            return Ok(false);
        }
        let held = {
            let data = lock.try_borrow_data()?;
            BufferLock::try_deserialize(&mut &data[..])?
        };
        // Another proposal's lock: a legacy proposal of the same buffer must not free it.
        if &held.proposal != proposal {
            return Ok(false);
        }
        require_keys_eq!(
            payer.key(),
            held.payer,
            UpgradeManagerError::ProposalAccountMismatch
        );
        let lamports = lock.lamports();
        **payer.try_borrow_mut_lamports()? = payer
            .lamports()
            .checked_add(lamports)
            .ok_or_else(|| error!(UpgradeManagerError::Overflow))?;
        **lock.try_borrow_mut_lamports()? = 0;
        lock.assign(&system_program::ID);
        lock.resize(0)?;
        Ok(true)
    }
}
