/**
 * A typed view of what commander parsed. Commander hands back `any`; each command's `parse`
 * reads its arguments and options through these guards, so a mismatch between a command's
 * declaration and its parse (a bug, never user input: the flag parsers have validated already)
 * fails loudly instead of flowing on as the wrong type.
 */
import type { Command } from "commander";
import type { Fd } from "./flags.js";

export type Guard<T> = (value: unknown) => value is T;

export const isString: Guard<string> = (v): v is string => typeof v === "string";
export const isBoolean: Guard<boolean> = (v): v is boolean => typeof v === "boolean";
export const isStringArray: Guard<string[]> = (v): v is string[] => Array.isArray(v) && v.every(isString);
export const isNonNegativeInteger: Guard<number> = (v): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
export const isFd: Guard<Fd> = (v): v is Fd => isNonNegativeInteger(v);
export const isFdArray: Guard<Fd[]> = (v): v is Fd[] => Array.isArray(v) && v.every(isFd);

/** A guard for one of a fixed set of strings (the values given to commander's `.choices`). */
export function oneOf<const T extends readonly string[]>(values: T): Guard<T[number]> {
  return (v): v is T[number] => typeof v === "string" && values.includes(v);
}

/** A guard for a parsed object that has the given keys (for values our flag parsers built). */
export function hasKeys<T extends object>(...keys: readonly (keyof T & string)[]): Guard<T> {
  return (v): v is T => typeof v === "object" && v !== null && keys.every((k) => k in v);
}

function internalError(owner: string, what: string): Error {
  return new Error(`internal error: ${owner}: ${what} has an unexpected value (declaration and parse disagree)`);
}

/** Reads a command's (or the program's) option values. Option names are commander's camelCase. */
export class OptionValuesReader {
  protected readonly owner: string;
  readonly #values: Readonly<Record<string, unknown>>;

  constructor(owner: string, values: Readonly<Record<string, unknown>>) {
    this.owner = owner;
    this.#values = values;
  }

  /** An option that always has a value (it has a default or is mandatory). */
  option<T>(name: string, is: Guard<T>): T {
    const value = this.#values[name];
    if (!is(value)) throw internalError(this.owner, `option "${name}"`);
    return value;
  }

  optionalOption<T>(name: string, is: Guard<T>): T | undefined {
    const value = this.#values[name];
    if (value === undefined) return undefined;
    if (!is(value)) throw internalError(this.owner, `option "${name}"`);
    return value;
  }

  /** A boolean flag: absent is false. */
  flag(name: string): boolean {
    return this.optionalOption(name, isBoolean) ?? false;
  }

  /** A repeatable option: absent is an empty list. */
  list<T>(name: string, is: Guard<T[]>): T[] {
    return this.optionalOption(name, is) ?? [];
  }
}

/** Reads a subcommand's positional arguments (after their parsers ran) and its options. */
export class CommandInput extends OptionValuesReader {
  readonly #args: readonly unknown[];

  constructor(command: Command) {
    super(command.name(), command.opts());
    this.#args = command.processedArgs;
  }

  /** A required argument (or a variadic one, which is an array). */
  arg<T>(index: number, is: Guard<T>): T {
    const value = this.#args[index];
    if (!is(value)) throw internalError(this.owner, `argument ${index}`);
    return value;
  }

  optionalArg<T>(index: number, is: Guard<T>): T | undefined {
    const value = this.#args[index];
    if (value === undefined) return undefined;
    if (!is(value)) throw internalError(this.owner, `argument ${index}`);
    return value;
  }
}
