/**
 * Saved state that cannot be used as it is — a coordinator's run, a ledger, a node's accountant. One
 * code, E_STATE, so operators and scripts see the same failure wherever the file lives.
 */
export class StateError extends Error {
  readonly code = "E_STATE";
  constructor(message: string) {
    super(message);
    this.name = "StateError";
  }
}
