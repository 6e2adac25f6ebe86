/**
 * The base of objects that own one file descriptor (BPF maps, programs and links, netlink sockets): the
 * subclass's constructor takes an fd it owns; `close()` closes it once (later calls do nothing); and
 * `[Symbol.dispose]` closes it too, so `using` works. {@link FdHandle.closeOnThrow} covers the step before:
 * a fresh fd is closed when building the object around it throws, so a failed construction leaks nothing.
 *
 * @example
 * class Thing extends FdHandle {
 *   static open(): Thing {
 *     const fd = check(sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0), "socket(AF_NETLINK)");
 *     return FdHandle.closeOnThrow(fd, () => {
 *       check(sys.bind(fd, addr), "bind(netlink)");   // throws: fd closed, error rethrown
 *       return new Thing(fd);
 *     });
 *   }
 * }
 * using t = Thing.open();                             // closed at the end of the block
 */
import { sys } from "./native.js";

export abstract class FdHandle implements Disposable {
  /** The descriptor; not to be used after {@link close} (the number may belong to another file by then). */
  readonly fd: number;
  #closed = false;

  /** Takes ownership of `fd`. */
  protected constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`Invalid file descriptor ${fd} for ${new.target.name}`);
    this.fd = fd;
  }

  /**
   * Runs `build` (which checks what `fd` is and constructs the object owning it) and returns its result;
   * if it throws, closes `fd` and rethrows. For fds this code just opened: an fd that stays the caller's
   * on failure (a `fromFd`) must not go through here.
   */
  static closeOnThrow<T>(fd: number, build: () => T): T {
    try {
      return build();
    } catch (e) {
      sys.close(fd);
      throw e;
    }
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the fd; a second call does nothing. Subclasses that hold more than the fd override this and
   * call `super.close()` last.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sys.close(this.fd);
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
