// Fault injection for testing applications: drop or delay relayed messages by type, seeded so that a run can be repeated.
import { MessageType } from './protocol.js';

/** The message types faults apply to: the ones peers relay to each other. */
export const FAULT_TYPES = [MessageType.OFFER, MessageType.ANSWER, MessageType.CANDIDATE, MessageType.LEAVE, MessageType.EXPIRE] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

/** What to do to relayed messages, by type. The JSON of `PUT {prefix}/admin/faults` and of `--fault-*`. */
export interface FaultSpec {
  /** Probability (0 to 1) that a message of the type is dropped. */
  readonly drop?: Partial<Record<FaultType, number>>;
  /** Milliseconds (0 to 60000) a message of the type is held before it is relayed. */
  readonly delayMs?: Partial<Record<FaultType, number>>;
  /** Seed of the drop decisions (an integer): the same seed drops the same messages in the same order. */
  readonly seed?: number;
}

/** A fault spec that cannot be used; the message says which part and what is allowed. */
export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

export const MAX_FAULT_DELAY_MS = 60_000;

function checkTable(name: 'drop' | 'delayMs', value: unknown, max: number, unit: string): Partial<Record<FaultType, number>> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FaultSpecError(`"${name}" must be an object from message type to ${unit}, such as {"CANDIDATE": ${name === 'drop' ? 0.5 : 200}}`);
  }
  const table: Partial<Record<FaultType, number>> = {};
  for (const [type, amount] of Object.entries(value)) {
    if (!(FAULT_TYPES as readonly string[]).includes(type)) {
      throw new FaultSpecError(`"${name}" names ${JSON.stringify(type)}; faults apply to ${FAULT_TYPES.join(', ')}`);
    }
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0 || amount > max) {
      throw new FaultSpecError(`"${name}.${type}" must be ${unit} from 0 to ${max}, got ${JSON.stringify(amount)}`);
    }
    if (amount > 0) table[type as FaultType] = amount;
  }
  return table;
}

/** Checks a spec from JSON or flags and returns it in canonical form (zero entries left out); throws FaultSpecError. */
export function checkFaultSpec(spec: unknown): FaultSpec {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new FaultSpecError('a fault spec is a JSON object such as {"drop": {"CANDIDATE": 0.5}, "delayMs": {"OFFER": 200}, "seed": 1}');
  }
  const { drop, delayMs, seed, ...rest } = spec as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new FaultSpecError(`unknown field ${JSON.stringify(unknown[0])}; a fault spec has "drop", "delayMs" and "seed"`);
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isSafeInteger(seed))) {
    throw new FaultSpecError(`"seed" must be an integer, got ${JSON.stringify(seed)}`);
  }
  const checked = {
    drop: checkTable('drop', drop, 1, 'a probability'),
    delayMs: checkTable('delayMs', delayMs, MAX_FAULT_DELAY_MS, 'milliseconds'),
  };
  return seed === undefined ? checked : { ...checked, seed };
}

/** mulberry32: a small, fast, seedable generator; plenty for deciding which messages to drop. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The faults in force. Cheap when none are: `active` is false and the relay never asks. */
export class Faults {
  private spec: FaultSpec = {};
  private random: () => number = Math.random;
  private readonly pending = new Set<NodeJS.Timeout>();
  active = false;

  constructor(initial?: FaultSpec) {
    if (initial !== undefined) this.set(initial);
  }

  /** Replaces the faults in force (the spec is checked first; throws FaultSpecError). */
  set(spec: unknown): FaultSpec {
    const checked = checkFaultSpec(spec);
    this.spec = checked;
    this.random = checked.seed === undefined ? Math.random : seededRandom(checked.seed);
    this.active = Object.keys(checked.drop ?? {}).length > 0 || Object.keys(checked.delayMs ?? {}).length > 0;
    return checked;
  }

  clear(): void {
    this.set({});
  }

  /** The faults in force, as set. */
  get(): FaultSpec {
    return this.spec;
  }

  /** For a message of `type`: `'drop'`, or how long to hold it (0: relay it now). */
  decide(type: string): 'drop' | number {
    const probability = this.spec.drop?.[type as FaultType];
    if (probability !== undefined && this.random() < probability) return 'drop';
    return this.spec.delayMs?.[type as FaultType] ?? 0;
  }

  /** Runs `relay` after `delayMs`, unless stop() comes first. */
  hold(delayMs: number, relay: () => void): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      relay();
    }, delayMs);
    this.pending.add(timer);
  }

  /** Forgets held messages (shutdown): nothing fires after the server closed. */
  stop(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
