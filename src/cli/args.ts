import { InvalidArgumentError } from 'commander';

/** Parsers for option values: a bad value is one clear line, never a NaN deep inside. */

/** Plain decimal digits: Number() alone would also take '0x18eb', '1e3', ' 42 ', '+42' and ''. */
const DECIMAL = /^[0-9]+$/;
const DECIMAL_FRACTION = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)$/;

export function portArg(value: string, previous: number[] | undefined): number[] {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new InvalidArgumentError(`'${value}' is not a TCP port (a decimal number 1-65535).`);
  return [...(previous ?? []), n];
}

export function positiveInt(value: string): number {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`'${value}' is not a positive whole number.`);
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = DECIMAL_FRACTION.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a number >= 0.`);
  return n;
}
