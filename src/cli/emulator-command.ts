/**
 * `panelsync emulator [--port 4010] [--host 127.0.0.1] [--api-key KEY]...
 *   [--characteristics slug:type,...] [--rate-limit REQ_PER_S] [--rate-limit-headers STYLE] [--latency-ms MS]
 *   [--fault-rate SHARE] [--reject-email-pattern REGEX] [--max-batch 100]`
 * (plus `--environment`, `--slow-ms`, `--seed`): runs the local User Interviews emulator.
 * `--variant NAME` answers with a variant of the contract (src/emulator/variants.ts),
 * `--profile DIR` as the account `panelsync check --record DIR` recorded; `--list-variants`
 * prints one line per variant (its name, then what differs) and exits 0.
 *
 * Prints exactly one line on stdout, `listening on http://HOST:PORT`, once it accepts connections,
 * and stops cleanly on SIGINT or SIGTERM. Exit codes: 0 stopped by a signal, 1 could not start
 * (port in use…), 2 invalid option.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CHARACTERISTIC_TYPES, MAX_BATCH_SIZE, type CharacteristicType } from '../destinations/user-interviews/wire.ts';
import { ENVIRONMENTS, type Environment } from '../config/schema.ts';
import { DEMO_API_KEY, type CharacteristicInput } from '../emulator/create-emulator-app.ts';
import { RATE_LIMIT_HEADER_STYLES, type RateLimitHeaderStyle } from '../emulator/emulator-knobs.ts';
import { startEmulator } from '../emulator/start-emulator.ts';
import { VARIANTS, VARIANT_NAMES, variantContract, type EmulatorContract } from '../emulator/variants.ts';
import { loadContractProfile } from '../emulator/contract-profile.ts';
import { waitForStopSignal } from './wait-for-signal.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';

interface EmulatorCommandOptions {
  port: number;
  host: string;
  apiKey: string[];
  environment: Environment;
  characteristics?: CharacteristicInput[];
  rateLimit?: number;
  rateLimitHeaders?: RateLimitHeaderStyle;
  latencyMs?: number;
  faultRate?: number;
  slowMs?: number;
  seed?: number;
  rejectEmailPattern?: string;
  maxBatch?: number;
  variant?: string;
  listVariants?: boolean;
  profile?: string;
}

/** Adds `panelsync emulator` to the program. */
export const registerEmulatorCommand: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('emulator')
    .description('run the local User Interviews emulator (API under /api, test routes under /_emulator)')
    .option('--port <port>', 'TCP port; 0 picks a free one', integerIn('--port', 0, 65535), 4010)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .addOption(
      new Option('--api-key <key>', 'accepted API key, repeatable: KEY (both environments), sandbox:KEY or production:KEY')
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([], DEMO_API_KEY),
    )
    .option('--environment <env>', `environment this emulator plays (${ENVIRONMENTS.join(' or ')})`, oneOf('--environment', ENVIRONMENTS), 'sandbox')
    .option('--characteristics <list>', `characteristics to define, slug:type,... (types: ${CHARACTERISTIC_TYPES.join(', ')})`, parseCharacteristics)
    .option('--rate-limit <req_per_s>', 'requests per second per API key (default: unlimited)', positiveNumber('--rate-limit'))
    .option(
      '--rate-limit-headers <style>',
      `rate-limit headers on a rate-limited key's answers (${RATE_LIMIT_HEADER_STYLES.join(', ')}; default none)`,
      oneOf('--rate-limit-headers', RATE_LIMIT_HEADER_STYLES),
    )
    .option('--latency-ms <ms>', 'added to every /api response, ms', integerIn('--latency-ms', 0, 600_000))
    .option('--fault-rate <share>', 'share (0..1) of /api requests failing with a random fault', shareOf('--fault-rate'))
    .option('--slow-ms <ms>', 'how long a slow fault holds a response, ms (default 5000)', integerIn('--slow-ms', 0, 600_000))
    .option('--seed <n>', 'seed of the fault randomness (default 1)', integerIn('--seed', -(2 ** 31), 2 ** 32))
    .option('--reject-email-pattern <regex>', 'reject emails matching it (case-insensitive) as "email is not deliverable"', regex)
    .option('--max-batch <n>', `participants per batch, at most (default ${MAX_BATCH_SIZE}, or the variant's or profile's)`, integerIn('--max-batch', 1, 100_000))
    .addOption(new Option('--variant <name>', 'answer with a variant of the API contract (see --list-variants)').choices(VARIANT_NAMES))
    .addOption(new Option('--profile <dir>', 'answer as the account recorded by "panelsync check DESTINATION --record DIR"').conflicts('variant'))
    .option('--list-variants', 'print one line per variant (its name, then what differs) and exit')
    .action(async (opts: EmulatorCommandOptions) => {
      if (opts.listVariants) {
        const width = Math.max(...VARIANT_NAMES.map((name) => name.length));
        for (const variant of VARIANTS) process.stdout.write(`${variant.name.padEnd(width)}  ${variant.differs}\n`);
        setExitCode(EXIT.ok);
        return;
      }
      let emulator;
      let contract: Partial<EmulatorContract> | undefined;
      try {
        if (opts.variant !== undefined) contract = variantContract(opts.variant);
        if (opts.profile !== undefined) contract = loadContractProfile(opts.profile);
        emulator = await startEmulator({
          port: opts.port,
          host: opts.host,
          apiKeys: opts.apiKey.length > 0 ? opts.apiKey : undefined,
          environment: opts.environment,
          characteristics: opts.characteristics,
          rateLimit: opts.rateLimit,
          rateLimitHeaders: opts.rateLimitHeaders,
          latencyMs: opts.latencyMs,
          faultRate: opts.faultRate,
          slowMs: opts.slowMs,
          seed: opts.seed,
          rejectEmailPattern: opts.rejectEmailPattern,
          maxBatch: opts.maxBatch,
          contract,
        });
      } catch (error) {
        const code = (error as { code?: string }).code;
        process.stderr.write(
          code === 'EADDRINUSE'
            ? `error: port ${opts.port} on ${opts.host} is in use: choose another with --port (0 picks a free one)\n`
            : `error: the emulator could not start: ${(error as Error).message}\n`,
        );
        setExitCode(code === 'EMULATOR_INVALID_OPTIONS' ? EXIT.usage : EXIT.failed);
        return;
      }
      process.stdout.write(`listening on ${emulator.url}\n`);
      if (opts.variant !== undefined) process.stderr.write(`answering with the variant ${opts.variant}\n`);
      if (opts.profile !== undefined) process.stderr.write(`answering as recorded in ${opts.profile}: ${Object.keys(contract ?? {}).join(', ') || 'as built in'}\n`);
      if (opts.apiKey.length === 0) process.stderr.write(`accepting the API key "${DEMO_API_KEY}" (the default; choose others with --api-key)\n`);
      await waitForStopSignal();
      await emulator.close();
      setExitCode(EXIT.ok);
    });
};

function integerIn(flag: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${flag} takes a whole number from ${min} to ${max}.`);
    }
    return parsed;
  };
}

function positiveNumber(flag: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError(`${flag} takes a number above 0.`);
    return parsed;
  };
}

function shareOf(flag: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !(parsed >= 0 && parsed <= 1)) throw new InvalidArgumentError(`${flag} takes a share from 0 to 1, e.g. 0.05.`);
    return parsed;
  };
}

function oneOf<T extends string>(flag: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} takes ${allowed.join(' or ')}.`);
    return value as T;
  };
}

function regex(value: string): string {
  try {
    new RegExp(value, 'i');
  } catch (error) {
    throw new InvalidArgumentError(`not a valid regular expression (${(error as Error).message}).`);
  }
  return value;
}

function parseCharacteristics(value: string): CharacteristicInput[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [slug, type, ...rest] = part.split(':');
      if (!slug || !type || rest.length > 0 || !/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(slug)) {
        throw new InvalidArgumentError(`"${part}": write each characteristic as slug:type, e.g. plan:text,lifetime_value:number.`);
      }
      if (!(CHARACTERISTIC_TYPES as readonly string[]).includes(type)) {
        throw new InvalidArgumentError(`"${part}": unknown type "${type}" (known: ${CHARACTERISTIC_TYPES.join(', ')}).`);
      }
      return { slug, type: type as CharacteristicType };
    });
}
