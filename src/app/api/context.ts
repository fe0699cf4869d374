// What the API objects share: the runtime, the AMF converter, the server, the application tree.
import type { Runtime } from '../runtime.ts';
import type { AMFConverter } from './amf-convert.ts';
import type { ServerPort } from '../../core/ports.ts';
import type { ApplicationTree } from '../tree.ts';

export interface HostContext {
  readonly rt: Runtime;
  readonly conv: AMFConverter;
  readonly server: ServerPort;
  readonly tree: ApplicationTree;
}
