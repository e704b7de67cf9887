/** RESP framing: pure, incremental decoders of client requests and server replies. */
export { RESP_TYPES, type RespType } from './constants.js';
export { FramePool } from './frame-pool.js';
export { RequestDecoder } from './request-decoder.js';
export { ReplyDecoder } from './reply-decoder.js';
export { resolveLimits } from './limits.js';
export {
  DEFAULT_LIMITS,
  type ReplyFrame,
  type RequestFrame,
  type RespLimits,
  type Violation,
} from './types.js';
