//! Validator-shaped transaction logs for programs that run natively.
//!
//! On the host, `msg!` (solana-msg 2.x) prints to stdout instead of reaching a syscall, so a
//! native program's `Program log:` lines never reach the transaction's log collector; and
//! program-test's builtin shim and CPI stub log their own `invoke`/`success` lines on top of the
//! runtime's. This module puts both right:
//!
//! * [`capture_stdout`] points file descriptor 1 at a pipe. Each `msg!` is one `println!`, which
//!   writes its whole line before returning, so whatever the pipe holds when the runtime hands
//!   control back to us was printed by the program that just ran. The bank thread is the only
//!   thread that executes programs, so the lines cannot interleave with another transaction's.
//! * [`native`] wraps a program's entrypoint as a builtin: it runs program-test's shim, moves the
//!   captured lines into the log collector as `Program log:` lines, and drops the shim's copies of
//!   the runtime's `invoke`/`success`/`failed` lines.
//! * [`install_stubs`] wraps program-test's syscall stubs: `sol_log`/`sol_log_data` go to the log
//!   collector, and a CPI first flushes the caller's pending lines and then drops the stub's
//!   duplicate `invoke`/`success` lines.
//!
//! Syscall stubs are process-wide in solana-program, which is why the state here is too.

use std::{
    cell::Cell,
    fs::File,
    io::{self, Read, Write},
    os::fd::{FromRawFd, RawFd},
    sync::{Mutex, OnceLock},
};

use solana_log_collector::LogCollector;
use solana_program_test::{invoke_builtin_function, InvokeContext};
use solana_sdk::{
    account_info::AccountInfo, entrypoint::ProgramResult, instruction::Instruction, pubkey::Pubkey,
};
use solana_sysvar::program_stubs::{self, SyscallStubs};

thread_local! {
    // The invoke context of the innermost native program running on this thread.
    static CURRENT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Captured stdout: the pipe's read end, a partial line, and where non-program output goes.
struct Capture {
    read: Mutex<(File, Vec<u8>)>,
    real_stdout: Mutex<File>,
}

static CAPTURE: OnceLock<Capture> = OnceLock::new();

/// Points stdout at a pipe whose contents become `Program log:` lines, and returns a handle on
/// the original stdout for the node's own output. Call once, before any program runs; later calls
/// return the same handle.
pub fn capture_stdout() -> io::Result<File> {
    if let Some(c) = CAPTURE.get() {
        return c.real_stdout.lock().unwrap().try_clone();
    }
    io::stdout().flush()?;
    let mut fds = [0 as RawFd; 2];
    // SAFETY: plain libc calls on descriptors this function owns.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let (r, w) = (fds[0], fds[1]);
        // Room for a burst of logs between two drains; the kernel may cap it lower.
        libc::fcntl(w, libc::F_SETPIPE_SZ, 1 << 20);
        // Never block the bank thread on a full pipe: a write that does not fit fails instead
        // (the program's `msg!` then panics, which fails only that instruction).
        for fd in [r, w] {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        let saved = libc::dup(1);
        if saved < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::dup2(w, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        libc::close(w);
        let real = File::from_raw_fd(saved);
        let handle = real.try_clone()?;
        let _ = CAPTURE.set(Capture {
            read: Mutex::new((File::from_raw_fd(r), Vec::new())),
            real_stdout: Mutex::new(real),
        });
        Ok(handle)
    }
}

/// Complete lines printed since the last drain (empty when stdout is not captured).
fn drain_lines() -> Vec<String> {
    let Some(c) = CAPTURE.get() else {
        return Vec::new();
    };
    let mut guard = c.read.lock().unwrap();
    let (file, partial) = &mut *guard;
    let mut buf = [0u8; 16 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => partial.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break, // WouldBlock: the pipe is empty
        }
    }
    let Some(end) = partial.iter().rposition(|b| *b == b'\n') else {
        return Vec::new();
    };
    let complete: Vec<u8> = partial.drain(..=end).collect();
    String::from_utf8_lossy(&complete[..complete.len() - 1])
        .split('\n')
        .map(str::to_owned)
        .collect()
}

/// Sends output that no program printed to the real stdout.
fn pass_through() {
    let lines = drain_lines();
    if lines.is_empty() {
        return;
    }
    if let Some(c) = CAPTURE.get() {
        let mut out = c.real_stdout.lock().unwrap();
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
}

type Collector = Option<std::rc::Rc<std::cell::RefCell<LogCollector>>>;

fn current() -> Option<&'static mut InvokeContext<'static>> {
    // SAFETY: set by `invoke` for the duration of a native program's invocation on this thread,
    // which is the only time the stubs that call this run.
    CURRENT
        .with(|c| c.get())
        .map(|p| unsafe { &mut *(p as *mut InvokeContext<'static>) })
}

fn collector() -> Collector {
    current().and_then(|ic| ic.get_log_collector())
}

fn log_program_lines(collector: &Collector) {
    let lines = drain_lines();
    if let Some(c) = collector {
        let mut c = c.borrow_mut();
        for l in lines {
            c.log(&format!("Program log: {l}"));
        }
    }
}

fn remove_at(c: &mut LogCollector, i: usize) {
    let m = c.messages.remove(i);
    c.bytes_written = c.bytes_written.saturating_sub(m.len());
}

/// Runs a native program the way program-test's `processor!` does, with the fixes above. Use
/// through [`native!`](crate::native).
pub fn invoke(
    f: fn(&Pubkey, &[AccountInfo], &[u8]) -> ProgramResult,
    ic: &mut InvokeContext,
) -> Result<u64, Box<dyn std::error::Error>> {
    let ptr = ic as *mut InvokeContext as usize;
    let prev = CURRENT.with(|c| c.replace(Some(ptr)));
    let collector = ic.get_log_collector();
    let program_id = ic
        .transaction_context
        .get_current_instruction_context()
        .and_then(|i| i.get_last_program_key(ic.transaction_context).copied())
        .ok();
    let depth = ic.get_stack_height();
    pass_through();
    let before = collector.as_ref().map_or(0, |c| c.borrow().messages.len());

    let result = invoke_builtin_function(f, ic);

    if let (Some(c), Some(id)) = (&collector, program_id) {
        let mut c = c.borrow_mut();
        let invoke = format!("Program {id} invoke [{depth}]");
        // The runtime logged `invoke` just before calling us; the shim logged it again.
        if before > 0
            && c.messages.get(before) == Some(&invoke)
            && c.messages.get(before - 1) == Some(&invoke)
        {
            remove_at(&mut c, before);
        }
        // The shim's `success`/`failed` line: the runtime logs its own once we return.
        let ours = format!("Program {id} ");
        if c.messages.len() > before {
            let last = c.messages.last().unwrap();
            if last.starts_with(&ours)
                && (last.ends_with(" success") || last[ours.len()..].starts_with("failed: "))
            {
                let i = c.messages.len() - 1;
                remove_at(&mut c, i);
            }
        }
    }
    log_program_lines(&collector);
    CURRENT.with(|c| c.set(prev));
    result
}

/// A builtin entry for a `fn(&Pubkey, &[AccountInfo], &[u8]) -> ProgramResult`, like
/// program-test's `processor!` but with validator-shaped logs (see [`invoke`]).
#[macro_export]
macro_rules! native {
    ($f:expr) => {
        |vm, _a0, _a1, _a2, _a3, _a4| {
            // SAFETY: the same pointer arithmetic as solana-program-test's `processor!`.
            let vm = unsafe {
                &mut *((vm as *mut u64)
                    .offset(-(::solana_program_test::get_runtime_environment_key() as isize))
                    as *mut ::solana_program_test::EbpfVm<::solana_program_test::InvokeContext>)
            };
            vm.program_result = $crate::logs::invoke($f, vm.context_object_pointer)
                .map_err(|e| ::solana_program_test::EbpfError::SyscallError(e))
                .into();
        }
    };
}

/// Program-test's stubs with validator-shaped logs.
struct Stubs {
    inner: Box<dyn SyscallStubs>,
}

struct Placeholder;
impl SyscallStubs for Placeholder {}

static STUBS: OnceLock<()> = OnceLock::new();

/// Installs program-test's syscall stubs (by starting one throwaway program-test bank, the only
/// public way to get them) wrapped in ours. Idempotent.
pub fn install_stubs() {
    STUBS.get_or_init(|| {
        // On a thread of its own: the caller may be inside a tokio runtime.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async {
                let pt = solana_program_test::ProgramTest::default();
                let _ = pt.start().await;
            });
        })
        .join()
        .expect("start program-test once");
        let theirs = program_stubs::set_syscall_stubs(Box::new(Placeholder));
        program_stubs::set_syscall_stubs(Box::new(Stubs { inner: theirs }));
    });
}

impl SyscallStubs for Stubs {
    fn sol_log(&self, message: &str) {
        let c = collector();
        log_program_lines(&c);
        match &c {
            Some(c) => c.borrow_mut().log(&format!("Program log: {message}")),
            None => println!("{message}"),
        }
    }

    fn sol_log_compute_units(&self) {
        self.sol_log("Program consumption: 0 units remaining (native program: not metered)");
    }

    fn sol_remaining_compute_units(&self) -> u64 {
        self.inner.sol_remaining_compute_units()
    }

    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        let c = collector();
        log_program_lines(&c);
        let before = c.as_ref().map_or(0, |c| c.borrow().messages.len());
        let result = self
            .inner
            .sol_invoke_signed(instruction, account_infos, signers_seeds);
        if let Some(c) = &c {
            let mut c = c.borrow_mut();
            // The stub logs `invoke` (at the caller's depth), and then the runtime does.
            let invoke = format!("Program {} invoke [", instruction.program_id);
            if c.messages.len() > before + 1
                && c.messages[before].starts_with(&invoke)
                && c.messages[before + 1].starts_with(&invoke)
            {
                remove_at(&mut c, before);
            }
            // On success the runtime logs `success`, and then the stub does.
            let success = format!("Program {} success", instruction.program_id);
            let n = c.messages.len();
            if result.is_ok()
                && n >= before + 2
                && c.messages[n - 1] == success
                && c.messages[n - 2] == success
            {
                remove_at(&mut c, n - 1);
            }
        }
        result
    }

    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_clock_sysvar(var_addr)
    }

    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_epoch_schedule_sysvar(var_addr)
    }

    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_fees_sysvar(var_addr)
    }

    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_rent_sysvar(var_addr)
    }

    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_epoch_rewards_sysvar(var_addr)
    }

    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        self.inner.sol_get_last_restart_slot(var_addr)
    }

    fn sol_get_sysvar(
        &self,
        sysvar_id_addr: *const u8,
        var_addr: *mut u8,
        offset: u64,
        length: u64,
    ) -> u64 {
        self.inner
            .sol_get_sysvar(sysvar_id_addr, var_addr, offset, length)
    }

    fn sol_get_epoch_stake(&self, vote_address: *const u8) -> u64 {
        self.inner.sol_get_epoch_stake(vote_address)
    }

    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        self.inner.sol_get_return_data()
    }

    fn sol_set_return_data(&self, data: &[u8]) {
        self.inner.sol_set_return_data(data)
    }

    fn sol_log_data(&self, fields: &[&[u8]]) {
        let c = collector();
        log_program_lines(&c);
        match &c {
            Some(_) => solana_program_runtime::stable_log::program_data(&c, fields),
            None => self.inner.sol_log_data(fields),
        }
    }

    fn sol_get_processed_sibling_instruction(&self, index: usize) -> Option<Instruction> {
        self.inner.sol_get_processed_sibling_instruction(index)
    }

    fn sol_get_stack_height(&self) -> u64 {
        self.inner.sol_get_stack_height()
    }
}
