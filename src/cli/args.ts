import { InvalidArgumentError } from 'commander';
import { stampInRange } from '../capture/stamp-guard.js';
import { parseIpNet, type ClientSelector, type TimeBound } from '../engine/packet-filter.js';

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

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const TIME_HELP = 'an ISO time (2026-11-22T02:19:14Z, 2026-11-22 02:19:14.5; no zone means UTC, as reports show) or seconds from the start of the capture (30, 1.5)';

/** --since / --until: an ISO time, or seconds from the capture's first packet. */
export function timeArg(value: string): TimeBound {
  if (DECIMAL_FRACTION.test(value)) return { kind: 'offset', us: Math.round(Number(value) * 1e6), text: value };
  const us = isoTimeUs(value);
  if (us === null) throw new InvalidArgumentError(`'${value}' is not ${TIME_HELP}.`);
  if (!stampInRange(us)) throw new InvalidArgumentError(`'${value}' is outside the times a capture can hold (1970-2200).`);
  return { kind: 'time', us, text: value };
}

/** Microseconds since 1970 of an ISO 8601 date-time, or null when it is not one (or no such day). */
export function isoTimeUs(value: string): number | null {
  const m = ISO_TIME.exec(value);
  if (m === null) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  const fracUs = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0')) / 1000;
  return ms * 1000 + fracUs - zoneOffsetUs(m[8]);
}

function zoneOffsetUs(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return sign * minutes * 60e6;
}

/**
 * --client, repeatable: an IP address, a CIDR network, or an application name of the --clients
 * mapping (turned into its addresses once the mapping is read: see namedClients).
 */
export function clientArg(value: string, previous: ClientSelector[] | undefined): ClientSelector[] {
  const net = parseIpNet(value);
  if (net !== null) return [...(previous ?? []), { kind: 'address', net, text: value }];
  if (/^[0-9.:/]+$/.test(value) || value.trim() === '') {
    throw new InvalidArgumentError(`'${value}' is not an IP address, a CIDR network (10.0.0.5, 10.0.0.0/8, fd00::/8) or an application name`);
  }
  return [...(previous ?? []), { kind: 'name', text: value }];
}
