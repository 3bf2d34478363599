/**
 * Preloaded into each child process the demo starts (`node --import <this module> …`, with an IPC
 * channel to the parent): when the channel closes because the parent is gone, however it ended
 * (a signal it could not handle, SIGKILL included, or a crash), the child sends itself SIGTERM
 * and shuts down the way it does for any SIGTERM. The channel itself never keeps the child
 * alive.
 */
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
  });
}

export {};
