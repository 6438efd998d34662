//! The parts of the upgradeable loader (BPF loader v3) this program reads and calls.
//! Account states are bincode; their headers are fixed, so they are parsed by hand here.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::{hash::hashv, instruction::Instruction, program::invoke_signed};
pub use solana_loader_v3_interface::instruction as loader_ix;
/// The upgradeable loader's program id.
pub use solana_sdk_ids::bpf_loader_upgradeable::ID as LOADER_ID;

use crate::errors::UpgradeManagerError;

/// Size of a buffer account's header: tag (u32) + Option<Pubkey>.
pub const BUFFER_HEADER_LEN: usize = 37;
/// Size of a programdata account's header: tag (u32) + slot (u64) + Option<Pubkey>.
pub const PROGRAMDATA_HEADER_LEN: usize = 45;

const TAG_BUFFER: u32 = 1;
const TAG_PROGRAM: u32 = 2;
const TAG_PROGRAMDATA: u32 = 3;

fn tag(data: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(..4)?.try_into().ok()?))
}

fn optional_key(data: &[u8]) -> Option<Option<Pubkey>> {
    match *data.first()? {
        0 => Some(None),
        1 => Some(Some(Pubkey::new_from_array(
            data.get(1..33)?.try_into().ok()?,
        ))),
        _ => None,
    }
}

/// The programdata address a program account points to.
pub fn program_programdata(program: &AccountInfo) -> Result<Pubkey> {
    require_keys_eq!(
        *program.owner,
        LOADER_ID,
        UpgradeManagerError::NotUpgradeableProgram
    );
    let data = program.try_borrow_data()?;
    require!(
        tag(&data) == Some(TAG_PROGRAM) && data.len() >= 36,
        UpgradeManagerError::NotUpgradeableProgram
    );
    Ok(Pubkey::new_from_array(data[4..36].try_into().unwrap()))
}

/// The deploy slot and upgrade authority recorded in a programdata account.
pub fn programdata_state(programdata: &AccountInfo) -> Result<(u64, Option<Pubkey>)> {
    require_keys_eq!(
        *programdata.owner,
        LOADER_ID,
        UpgradeManagerError::ProgramDataMismatch
    );
    let data = programdata.try_borrow_data()?;
    require!(
        tag(&data) == Some(TAG_PROGRAMDATA),
        UpgradeManagerError::ProgramDataMismatch
    );
    require!(
        data.len() >= PROGRAMDATA_HEADER_LEN,
        UpgradeManagerError::ProgramDataMismatch
    );
    let slot = u64::from_le_bytes(data[4..12].try_into().unwrap());
    let authority = optional_key(&data[12..])
        .ok_or_else(|| error!(UpgradeManagerError::ProgramDataMismatch))?;
    Ok((slot, authority))
}

/// The authority of a buffer account.
pub fn buffer_authority(buffer: &AccountInfo) -> Result<Option<Pubkey>> {
    require_keys_eq!(*buffer.owner, LOADER_ID, UpgradeManagerError::InvalidBuffer);
    let data = buffer.try_borrow_data()?;
    require!(
        tag(&data) == Some(TAG_BUFFER),
        UpgradeManagerError::InvalidBuffer
    );
    optional_key(&data[4..]).ok_or_else(|| error!(UpgradeManagerError::InvalidBuffer))
}

/// The ELF bytes after `header`, without trailing zero padding.
fn elf(data: &[u8], header: usize) -> &[u8] {
    let body = data.get(header..).unwrap_or_default();
    let end = body.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    &body[..end]
}

/// sha256 of an ELF, as `solana-verify` computes a program hash.
pub fn elf_hash(elf: &[u8]) -> [u8; 32] {
    hashv(&[elf]).to_bytes()
}

/// Hash and length of the ELF in a buffer account.
pub fn buffer_elf(buffer: &AccountInfo) -> Result<([u8; 32], u64)> {
    let data = buffer.try_borrow_data()?;
    let elf = elf(&data, BUFFER_HEADER_LEN);
    require!(!elf.is_empty(), UpgradeManagerError::EmptyBuffer);
    Ok((elf_hash(elf), elf.len() as u64))
}

/// Hash of the ELF deployed in a programdata account.
pub fn programdata_hash(programdata: &AccountInfo) -> Result<[u8; 32]> {
    let data = programdata.try_borrow_data()?;
    Ok(elf_hash(elf(&data, PROGRAMDATA_HEADER_LEN)))
}

/// Checks that `programdata` is a loader programdata account running the binary `hash`.
pub fn require_deployed(programdata: &AccountInfo, hash: &[u8; 32]) -> Result<()> {
    programdata_state(programdata)?;
    require!(
        &programdata_hash(programdata)? == hash,
        UpgradeManagerError::MigrationBinaryMismatch
    );
    Ok(())
}

/// Bytes the ELF may occupy in a programdata account.
pub fn programdata_capacity(programdata: &AccountInfo) -> u64 {
    programdata
        .data_len()
        .saturating_sub(PROGRAMDATA_HEADER_LEN) as u64
}

/// Bytes a programdata account must grow by to hold an ELF of `buffer_len` bytes.
pub fn extend_needed(programdata: &AccountInfo, buffer_data_len: usize) -> u32 {
    let elf_len = buffer_data_len.saturating_sub(BUFFER_HEADER_LEN) as u64;
    elf_len
        .saturating_sub(programdata_capacity(programdata))
        .try_into()
        .unwrap_or(u32::MAX)
}

/// Invokes the loader with `ix`, signed by the PDA `signer_seeds`, passing `accounts`.
pub fn invoke_loader<'info>(
    ix: Instruction,
    accounts: &[AccountInfo<'info>],
    signer_seeds: &[&[u8]],
) -> Result<()> {
    invoke_signed(&ix, accounts, &[signer_seeds]).map_err(Into::into)
}
