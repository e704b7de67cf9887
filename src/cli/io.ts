/** Writes to stdout and waits for it to drain; a closed pipe (`| head`) ends quietly. */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    // A closed pipe (EPIPE) or any other write error: nothing more can be shown; end quietly.
    process.stdout.once('error', () => resolve());
    process.stdout.write(text, () => resolve());
  });
}
