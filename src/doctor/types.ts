/** One line of `amh doctor`. */
export interface CheckResult {
  /** Stable id for machines: `config`, `schemas`, `handler:vm`, `ansible`, `collections`, `broker`, `topic:events`, ... */
  id: string;
  /** What was checked, for people. */
  title: string;
  status: 'pass' | 'fail' | 'skip';
  /** What was found; for a failure, the reason and what to do. */
  detail: string;
}

export const pass = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: 'pass', detail });
export const fail = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: 'fail', detail });
export const skip = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: 'skip', detail });
