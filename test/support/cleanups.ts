/**
 * What a lab stack started, stopped in reverse order of starting. Every step is tried even when
 * an earlier one fails (a mariadbd must not outlive a HAProxy that would not stop), and the first
 * error is thrown at the end. Running it twice does nothing the second time.
 */
export class Cleanups {
  private readonly steps: Array<() => Promise<void>> = [];

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
