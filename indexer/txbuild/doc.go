// Package txbuild turns a governance member's intent ("member M approves proposal P", "write this
// .so as a buffer locked to program X's manager PDA", "propose upgrading X to buffer B") into
// upgrade_manager and loader-v3 instructions, with every account derived as the program expects.
//
// It is the one place outside the program that derives PDAs and fills account lists: the member
// CLI (cmd/umctl), the cranks and the tests build through it, so a change of the program's
// accounts is a change here. Builders are pure (no I/O); Reader fetches and decodes the on-chain
// state the builders and the precondition checks (Check*) take, and the checks answer with coded
// errors (*Error) that name what to do.
package txbuild
