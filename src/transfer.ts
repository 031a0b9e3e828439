/**
 * comlink's handler for thrown values, replaced so that errors cross the boundary
 * as `{ name, code, message, stack, details }` and are rebuilt as the same class.
 * Both sides register it: the worker to send, the page to receive.
 */
import * as Comlink from 'comlink';
import { deserializeError, serializeError, type SerializedError } from './errors.js';

interface Thrown {
  value: unknown;
}

export function registerErrorHandler(): void {
  Comlink.transferHandlers.set('throw', {
    // comlink wraps a thrown value as { value, [Symbol('Comlink.thrown')]: 0 } and does not export the symbol.
    canHandle: (value: unknown): value is Thrown =>
      typeof value === 'object' && value !== null &&
      Object.getOwnPropertySymbols(value).some((s) => s.description === 'Comlink.thrown'),
    serialize: ({ value }: Thrown) => [serializeError(value), []],
    deserialize: (serialized: SerializedError) => {
      throw deserializeError(serialized);
    },
  } as Comlink.TransferHandler<Thrown, SerializedError>);
}
