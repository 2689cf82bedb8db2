/** How the long-running commands (`emulator`, `serve`) wait to be stopped. */

/** Resolves at the first SIGINT or SIGTERM, then stops listening for both. */
export async function waitForStopSignal(): Promise<NodeJS.Signals> {
  let stop: (signal: NodeJS.Signals) => void = () => {};
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    stop = resolve;
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return signal;
}
