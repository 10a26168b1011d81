/** Polls a loader every `intervalMs` while `active`; the latest result wins, a failed poll keeps the last data. */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Loads now (after an action), without waiting for the next tick. */
  refresh(): void;
}

export function usePolling<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, key: string, active = true): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // A new key (another job, other filters) starts afresh.
  useEffect(() => {
    setData(undefined);
    setError(undefined);
  }, [key]);

  useEffect(() => {
    const controller = new AbortController();
    let timer: number | undefined;
    const run = async (): Promise<void> => {
      try {
        const result = await loadRef.current(controller.signal);
        if (controller.signal.aborted) return;
        setData(result);
        setError(undefined);
      } catch (caught) {
        if (controller.signal.aborted) return;
        setError(caught instanceof Error ? caught : new Error(String(caught)));
      }
      if (active && !controller.signal.aborted) timer = window.setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [key, active, intervalMs, tick]);

  return { data, error, refresh: () => setTick((n) => n + 1) };
}
