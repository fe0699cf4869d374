// pino-roll ships no types: the part of its API src/ops/log-output.ts uses (a SonicBoom stream).
declare module 'pino-roll' {
  import type { EventEmitter } from 'node:events';
  interface RollOptions {
    file: string;
    size?: string | number;
    frequency?: string | number;
    extension?: string;
    mkdir?: boolean;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
  }
  interface RollStream extends EventEmitter {
    write(line: string): boolean;
    flushSync(): void;
    end(): void;
  }
  export default function roll(options: RollOptions): Promise<RollStream>;
}
