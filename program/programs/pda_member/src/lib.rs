//! `pda_member`: the smallest stand-in for a Squads v4 vault. A vault is the PDA
//! `["vault", owner]` of this program; `execute` makes it sign one instruction of any program
//! through `invoke_signed`, when `owner` signs the outer transaction (where Squads would require
//! the multisig's approval instead). It shows that upgrade_manager accepts a PDA as a member:
//! to the governance, the vault is an ordinary signer.
//!
//! Instruction data of `execute`: the inner instruction's data. Accounts: `[owner (signer),
//! vault, inner program, inner accounts…]`; the inner instruction takes the inner accounts in
//! order, with the vault marked as a signer wherever it appears.
#![allow(unexpected_cfgs)]

use anchor_lang::solana_program::{
    account_info::AccountInfo,
    declare_id,
    entrypoint::ProgramResult,
    instruction::{AccountMeta, Instruction},
    program::invoke_signed,
    program_error::ProgramError,
    pubkey::Pubkey,
};

declare_id!("PdaMember1111111111111111111111111111111111");

/// Seed of a vault: `["vault", owner]`.
pub const VAULT_SEED: &[u8] = b"vault";

/// The vault PDA of `owner`.
pub fn vault(owner: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[VAULT_SEED, owner.as_ref()], &ID)
}

/// Builds `execute`: `owner`'s vault signs `inner`.
pub fn execute(owner: &Pubkey, inner: &Instruction) -> Instruction {
    let (vault, _) = vault(owner);
    let mut accounts = vec![
        AccountMeta::new_readonly(*owner, true),
        AccountMeta::new_readonly(vault, false),
        AccountMeta::new_readonly(inner.program_id, false),
    ];
    accounts.extend(inner.accounts.iter().map(|m| AccountMeta {
        pubkey: m.pubkey,
        // The vault signs through invoke_signed, not in the outer transaction.
        is_signer: m.is_signer && m.pubkey != vault,
        is_writable: m.is_writable,
    }));
    Instruction {
        program_id: ID,
        accounts,
        data: inner.data.clone(),
    }
}

/// Runs `execute`.
pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let [owner, vault_info, inner_program, inner @ ..] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    if !owner.is_signer {
        return Err(ProgramError::MissingRequiredSignature);
    }
    let (vault, bump) = Pubkey::find_program_address(&[VAULT_SEED, owner.key.as_ref()], program_id);
    if *vault_info.key != vault {
        return Err(ProgramError::InvalidSeeds);
    }
    let ix = Instruction {
        program_id: *inner_program.key,
        accounts: inner
            .iter()
            .map(|a| AccountMeta {
                pubkey: *a.key,
                is_signer: a.is_signer || *a.key == vault,
                is_writable: a.is_writable,
            })
            .collect(),
        data: data.to_vec(),
    };
    invoke_signed(&ix, accounts, &[&[VAULT_SEED, owner.key.as_ref(), &[bump]]])
}

#[cfg(not(feature = "no-entrypoint"))]
anchor_lang::solana_program::entrypoint!(process);
