//! Writes `program/idl/<program>.json` from the program's source, as `anchor idl build` would,
//! using the same library the Anchor CLI uses. Usage: `idl-gen <program dir> <output file>`.

use std::{env, fs, path::PathBuf, process::ExitCode};

use anchor_lang_idl::build::IdlBuilder;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: idl-gen <program dir> <output file>");
        return ExitCode::from(2);
    }
    // Anchor's macros read the program's source from this path while cargo runs inside the
    // program's directory, so it must not be relative.
    let program = match std::fs::canonicalize(&args[1]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("idl-gen: program dir {}: {e}", args[1]);
            return ExitCode::FAILURE;
        }
    };
    let out = PathBuf::from(&args[2]);
    let idl = match IdlBuilder::new()
        .program_path(program.clone())
        .resolution(true)
        .build()
    {
        Ok(idl) => idl,
        Err(e) => {
            eprintln!("idl-gen: build IDL of {}: {e:#}", program.display());
            return ExitCode::FAILURE;
        }
    };
    let mut json = serde_json::to_string_pretty(&idl).expect("IDL serializes");
    json.push('\n');
    if let Err(e) = fs::write(&out, json) {
        eprintln!("idl-gen: write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
