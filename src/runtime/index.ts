/** runtime: data-plane worker threads pinned to CPUs, shared control words, idle mode. */
export * from "./control.js";
export { IdleManager } from "./idle.js";
export { startThreads, stopThreads, pauseThread, type ThreadSpec, type RunningThread } from "./threads.js";
