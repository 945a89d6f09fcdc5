// Children of `npm start` (src/main.ts) must not outlive it, even when it is SIGKILLed and can
// forward nothing: they hold an IPC channel to it, and the OS closes that channel when the parent
// dies, which Node reports as 'disconnect'. Started any other way (no channel), this does nothing.

/** Calls `onGone` once when the parent that started this process over IPC is gone. */
export function onParentGone(onGone: () => void): void {
  if (!process.send) return;
  // already gone before we got here (the parent died while we were starting up)
  if (!process.connected) {
    setImmediate(onGone);
    return;
  }
  process.once('disconnect', onGone);
}
