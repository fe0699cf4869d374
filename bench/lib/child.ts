// IPC with the bench's child processes (server, publisher, player groups): wait for one keyed answer.
import type { ChildProcess } from 'node:child_process';

/** Sends `request` (if any) and resolves with `message[key]` of the first message carrying `key`; rejects if the child exits first. */
export function reply<T>(child: ChildProcess, key: string, request?: object): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      const message = m as Record<string, unknown>;
      if (key in message) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message[key] as T);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${key}: child exited with ${code}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (request) child.send(request);
  });
}
