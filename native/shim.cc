// xdplane syscall shim: the only native code in the project.
//
// Each export is one system call with as little logic as possible. Structure layouts, constants and
// protocol logic live in TypeScript (src/sys/). Calls return the kernel's result: a non-negative value on
// success, -errno on failure. They throw only for wrong argument types (a programming error), so the
// data path can call them without try.
//
// The one piece of V8 API: mmap() hands the mapping to JavaScript as a SharedArrayBuffer (N-API has no
// external SharedArrayBuffer), so worker threads can share UMEM and rings. munmap() releases the real
// mapping at once; the address range stays reserved (zero pages, no memory) until the last JavaScript
// reference is collected, so a stale view reads zeros instead of crashing the process. munmap() acts only
// on whole mappings that mmap() made (a registry), so it can never zero other memory.
//
// State kept here: that mapping registry, and watch() handles (uv_poll) with their own lifetime rules
// (see "fd readiness" below). The shim is never unloaded once loaded (see the module init).

#include <node_api.h>
#include <v8.h>
#include <uv.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

namespace {

#define CHECK_NAPI(call)                                         \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error(env, "EINVAL", "napi call failed: " #call); \
      return nullptr;                                            \
    }                                                            \
  } while (0)

napi_value Num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

napi_value Ret(napi_env env, long rc) { return Num(env, rc < 0 ? -errno : (double)rc); }

bool ArgI64(napi_env env, napi_value v, int64_t* out) {
  if (napi_get_value_int64(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected a number");
    return false;
  }
  return true;
}

// A typed array or Buffer argument: pointer and byte length. null/undefined give (nullptr, 0).
bool ArgBytes(napi_env env, napi_value v, void** data, size_t* len, bool nullable) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (nullable && (t == napi_null || t == napi_undefined)) {
    *data = nullptr;
    *len = 0;
    return true;
  }
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) {
    napi_throw_type_error(env, "EINVAL", "expected a typed array");
    return false;
  }
  napi_typedarray_type tt;
  size_t n, off;
  napi_value ab;
  void* p;
  napi_get_typedarray_info(env, v, &tt, &n, &p, &ab, &off);
  size_t el = 1;
  switch (tt) {
    case napi_int16_array: case napi_uint16_array: el = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
    default: el = 1;
  }
  *data = p;
  *len = n * el;
  return true;
}

template <size_t N>
bool Args(napi_env env, napi_callback_info info, napi_value (&argv)[N], size_t need) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < need) {
    napi_throw_type_error(env, "EINVAL", "too few arguments");
    return false;
  }
  for (size_t i = argc; i < N; i++) napi_get_undefined(env, &argv[i]);
  return true;
}

// ---- mappings -------------------------------------------------------------------------------------
//
// Every mapping mmap() made is in a registry (start address -> length, released?) until the garbage
// collector frees its SharedArrayBuffer. munmap() acts only on a registered mapping, only on the whole of
// it, and only once; anything else answers -EINVAL and touches nothing. The registry is process-wide
// (worker threads share mappings) and guarded by a mutex; it is used on the control path only.

struct Mapping {
  void* addr;
  size_t len;
};

struct MappingState {
  size_t len;
  bool released;  // munmap() replaced the memory with the zero-page reservation
};

// Allocated once and never destroyed: a backing store may be freed on a V8 background thread while the
// process exits, after static destructors would have run.
std::mutex& g_maps_mu = *new std::mutex();
std::map<uintptr_t, MappingState>& g_maps = *new std::map<uintptr_t, MappingState>();

// The SharedArrayBuffer's backing store is gone (no JavaScript reference left, on any thread): free the
// address range. Erased under the lock before the range can be handed out again by the kernel.
void MappingDeleter(void* data, size_t, void* arg) {
  Mapping* m = static_cast<Mapping*>(arg);
  {
    std::lock_guard<std::mutex> lock(g_maps_mu);
    g_maps.erase(reinterpret_cast<uintptr_t>(m->addr));
    munmap(m->addr, m->len);
  }
  delete m;
}

napi_value FromLocal(v8::Local<v8::Value> local) {
  // napi_value is a V8 Local in Node's implementation (js_native_api_v8.h: JsValueFromV8LocalValue).
  return reinterpret_cast<napi_value>(*local);
}

// mmap(fd, length, prot, flags, offset[, align]) -> SharedArrayBuffer | -errno. With `align` (a power of
// two above the page size; anonymous memory only, fd -1) the mapping starts at a multiple of it: a range
// `align` longer is reserved and its unaligned head and tail unmapped (for transparent huge pages, whose
// 2 MB pages cover only 2 MB-aligned ranges).
napi_value Mmap(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!Args(env, info, argv, 5)) return nullptr;
  int64_t fd, len, prot, flags, off, align = 0;
  if (!ArgI64(env, argv[0], &fd) || !ArgI64(env, argv[1], &len) || !ArgI64(env, argv[2], &prot) ||
      !ArgI64(env, argv[3], &flags) || !ArgI64(env, argv[4], &off))
    return nullptr;
  napi_valuetype at;
  napi_typeof(env, argv[5], &at);
  if (at != napi_undefined && !ArgI64(env, argv[5], &align)) return nullptr;
  if (len <= 0) return Num(env, -EINVAL);
  long page = sysconf(_SC_PAGESIZE);
  void* p;
  if (align > page) {
    if ((align & (align - 1)) != 0 || fd != -1 || off != 0 || len > INT64_MAX - align) return Num(env, -EINVAL);
    size_t span = (size_t)len + (size_t)align;
    void* r = mmap(nullptr, span, (int)prot, (int)flags, -1, 0);
    if (r == MAP_FAILED) return Num(env, -errno);
    uintptr_t lo = reinterpret_cast<uintptr_t>(r);
    uintptr_t a = (lo + (uintptr_t)align - 1) & ~((uintptr_t)align - 1);
    size_t mlen = ((size_t)len + (size_t)page - 1) & ~((size_t)page - 1);
    if (a > lo) munmap(r, a - lo);
    if (lo + span > a + mlen) munmap(reinterpret_cast<void*>(a + mlen), lo + span - (a + mlen));
    p = reinterpret_cast<void*>(a);
  } else {
    p = mmap(nullptr, (size_t)len, (int)prot, (int)flags, (int)fd, (off_t)off);
    if (p == MAP_FAILED) return Num(env, -errno);
  }
  {
    std::lock_guard<std::mutex> lock(g_maps_mu);
    g_maps[reinterpret_cast<uintptr_t>(p)] = MappingState{(size_t)len, false};
  }
  Mapping* m = new Mapping{p, (size_t)len};
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::shared_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(p, (size_t)len, MappingDeleter, m);
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
  return FromLocal(sab);
}

// munmap(view) -> 0 | -errno, where view is a typed array over a SharedArrayBuffer from mmap() that starts
// at the mapping's first byte (byteOffset 0; its length does not matter): the whole mapping is released
// at once and its range stays reserved (zero pages, no memory; see the top). -EINVAL, touching nothing,
// for anything else: memory mmap() did not make, or a view that starts inside a mapping. Releasing an
// already released mapping is a no-op answering 0.
napi_value Munmap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv, 1)) return nullptr;
  bool is_ta = false;
  napi_is_typedarray(env, argv[0], &is_ta);
  if (!is_ta) {
    napi_throw_type_error(env, "EINVAL", "munmap: expected a typed array over a mapping");
    return nullptr;
  }
  napi_typedarray_type tt;
  size_t n, off;
  napi_value ab;
  void* p;
  CHECK_NAPI(napi_get_typedarray_info(env, argv[0], &tt, &n, &p, &ab, &off));
  if (p == nullptr || off != 0) return Num(env, -EINVAL);
  std::lock_guard<std::mutex> lock(g_maps_mu);
  auto it = g_maps.find(reinterpret_cast<uintptr_t>(p));
  if (it == g_maps.end()) return Num(env, -EINVAL);
  if (it->second.released) return Num(env, 0);
  void* r = mmap(p, it->second.len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) return Num(env, -errno);
  it->second.released = true;
  return Num(env, 0);
}

// madvise(view, advice) -> 0 | -errno over the whole of a mapping made by mmap() (view starts at its first
// byte, not released): MADV_HUGEPAGE before the first touch, MADV_COLLAPSE after. -EINVAL, touching
// nothing, for anything else.
napi_value Madvise(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  bool is_ta = false;
  napi_is_typedarray(env, argv[0], &is_ta);
  if (!is_ta) {
    napi_throw_type_error(env, "EINVAL", "madvise: expected a typed array over a mapping");
    return nullptr;
  }
  int64_t advice;
  if (!ArgI64(env, argv[1], &advice)) return nullptr;
  napi_typedarray_type tt;
  size_t n, off;
  napi_value ab;
  void* p;
  CHECK_NAPI(napi_get_typedarray_info(env, argv[0], &tt, &n, &p, &ab, &off));
  if (p == nullptr || off != 0) return Num(env, -EINVAL);
  std::lock_guard<std::mutex> lock(g_maps_mu);
  auto it = g_maps.find(reinterpret_cast<uintptr_t>(p));
  if (it == g_maps.end() || it->second.released) return Num(env, -EINVAL);
  return Ret(env, madvise(p, it->second.len, (int)advice));
}

// addressOf(typedArray) -> the address of its first byte (user-space addresses fit in 2^53).
napi_value AddressOf(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv, 1)) return nullptr;
  void* p;
  size_t len;
  if (!ArgBytes(env, argv[0], &p, &len, false)) return nullptr;
  return Num(env, (double)(uintptr_t)p);
}

// ---- sockets --------------------------------------------------------------------------------------

napi_value Socket(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv, 3)) return nullptr;
  int64_t d, t, p;
  if (!ArgI64(env, argv[0], &d) || !ArgI64(env, argv[1], &t) || !ArgI64(env, argv[2], &p)) return nullptr;
  return Ret(env, socket((int)d, (int)t, (int)p));
}

napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv, 1)) return nullptr;
  int64_t fd;
  if (!ArgI64(env, argv[0], &fd)) return nullptr;
  return Ret(env, close((int)fd));
}

// bind(fd, sockaddrBytes) / connect(fd, sockaddrBytes)
napi_value Bind(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  int64_t fd;
  void* a;
  size_t n;
  if (!ArgI64(env, argv[0], &fd) || !ArgBytes(env, argv[1], &a, &n, false)) return nullptr;
  return Ret(env, bind((int)fd, (struct sockaddr*)a, (socklen_t)n));
}

napi_value Connect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  int64_t fd;
  void* a;
  size_t n;
  if (!ArgI64(env, argv[0], &fd) || !ArgBytes(env, argv[1], &a, &n, false)) return nullptr;
  return Ret(env, connect((int)fd, (struct sockaddr*)a, (socklen_t)n));
}

napi_value Listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  int64_t fd, b;
  if (!ArgI64(env, argv[0], &fd) || !ArgI64(env, argv[1], &b)) return nullptr;
  return Ret(env, listen((int)fd, (int)b));
}

// accept4(fd, flags) -> new fd | -errno
napi_value Accept4(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  int64_t fd, f;
  if (!ArgI64(env, argv[0], &fd) || !ArgI64(env, argv[1], &f)) return nullptr;
  return Ret(env, accept4((int)fd, nullptr, nullptr, (int)f));
}

// setsockopt(fd, level, name, valueBytes)
napi_value Setsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv, 4)) return nullptr;
  int64_t fd, lvl, name;
  void* v;
  size_t n;
  if (!ArgI64(env, argv[0], &fd) || !ArgI64(env, argv[1], &lvl) || !ArgI64(env, argv[2], &name) ||
      !ArgBytes(env, argv[3], &v, &n, false))
    return nullptr;
  return Ret(env, setsockopt((int)fd, (int)lvl, (int)name, v, (socklen_t)n));
}

// getsockopt(fd, level, name, outBytes) -> length written | -errno
napi_value Getsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv, 4)) return nullptr;
  int64_t fd, lvl, name;
  void* v;
  size_t n;
  if (!ArgI64(env, argv[0], &fd) || !ArgI64(env, argv[1], &lvl) || !ArgI64(env, argv[2], &name) ||
      !ArgBytes(env, argv[3], &v, &n, false))
    return nullptr;
  socklen_t sl = (socklen_t)n;
  int rc = getsockopt((int)fd, (int)lvl, (int)name, v, &sl);
  return Num(env, rc < 0 ? -errno : (double)sl);
}

// sendto(fd, bytes|null, flags, addrBytes|null) -> sent | -errno. sendto(fd, null, MSG_DONTWAIT, null) is
// the AF_XDP TX kick.
napi_value Sendto(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv, 3)) return nullptr;
  int64_t fd, f;
  void *b, *a;
  size_t n, an;
  if (!ArgI64(env, argv[0], &fd) || !ArgBytes(env, argv[1], &b, &n, true) || !ArgI64(env, argv[2], &f) ||
      !ArgBytes(env, argv[3], &a, &an, true))
    return nullptr;
  return Ret(env, sendto((int)fd, b, n, (int)f, (struct sockaddr*)a, (socklen_t)an));
}

// recvfrom(fd, bytes|null, flags) -> received | -errno
napi_value Recvfrom(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv, 3)) return nullptr;
  int64_t fd, f;
  void* b;
  size_t n;
  if (!ArgI64(env, argv[0], &fd) || !ArgBytes(env, argv[1], &b, &n, true) || !ArgI64(env, argv[2], &f))
    return nullptr;
  return Ret(env, recvfrom((int)fd, b, n, (int)f, nullptr, nullptr));
}

// sendmsg(fd, bytes, fds: Int32Array|null, flags) -> sent | -errno. fds travel as SCM_RIGHTS.
napi_value Sendmsg(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv, 4)) return nullptr;
  int64_t fd, f;
  void *b, *fds;
  size_t n, fn;
  if (!ArgI64(env, argv[0], &fd) || !ArgBytes(env, argv[1], &b, &n, false) ||
      !ArgBytes(env, argv[2], &fds, &fn, true) || !ArgI64(env, argv[3], &f))
    return nullptr;
  size_t nfds = fn / sizeof(int);
  if (nfds > 16) {
    napi_throw_range_error(env, "EINVAL", "at most 16 fds per message");
    return nullptr;
  }
  struct iovec iov = {b, n};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(16 * sizeof(int))];
  if (nfds > 0) {
    msg.msg_control = cbuf;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  return Ret(env, sendmsg((int)fd, &msg, (int)f));
}

// recvmsg(fd, bytes, fdsOut: Int32Array, flags) -> received | -errno. fdsOut[0] = how many fds came,
// fdsOut[1..] = the fds (received with MSG_CMSG_CLOEXEC); fds beyond the array's room are closed. A
// message longer than `bytes` (or with more fds than fit) closes its fds and answers -EMSGSIZE.
napi_value Recvmsg(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv, 4)) return nullptr;
  int64_t fd, f;
  void *b, *fo;
  size_t n, fon;
  if (!ArgI64(env, argv[0], &fd) || !ArgBytes(env, argv[1], &b, &n, false) ||
      !ArgBytes(env, argv[2], &fo, &fon, false) || !ArgI64(env, argv[3], &f))
    return nullptr;
  int* out = static_cast<int*>(fo);
  size_t room = fon / sizeof(int);
  struct iovec iov = {b, n};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(16 * sizeof(int))];
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t rc = recvmsg((int)fd, &msg, (int)f | MSG_CMSG_CLOEXEC);
  if (rc < 0) return Num(env, -errno);
  size_t got = 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int* p = reinterpret_cast<int*>(CMSG_DATA(c));
    for (size_t i = 0; i < k; i++) {
      if (room > 0 && got + 1 < room) {
        out[1 + got++] = p[i];
      } else {
        close(p[i]);
      }
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    for (size_t i = 0; i < got; i++) close(out[1 + i]);
    if (room > 0) out[0] = 0;
    return Num(env, -EMSGSIZE);
  }
  if (room > 0) out[0] = (int)got;
  return Num(env, (double)rc);
}

// poll(pollfds: Int32Array of [fd, events | revents << 16] pairs, nfds, timeoutMs) -> ready | -errno
napi_value Poll(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv, 3)) return nullptr;
  void* p;
  size_t n;
  int64_t nfds, t;
  if (!ArgBytes(env, argv[0], &p, &n, false) || !ArgI64(env, argv[1], &nfds) || !ArgI64(env, argv[2], &t))
    return nullptr;
  if ((size_t)nfds * sizeof(struct pollfd) > n) {
    napi_throw_range_error(env, "EINVAL", "nfds exceeds the pollfd array");
    return nullptr;
  }
  return Ret(env, poll(static_cast<struct pollfd*>(p), (nfds_t)nfds, (int)t));
}

// ---- bpf, netdevs, namespaces, CPUs ---------------------------------------------------------------

// bpf(cmd, attrBytes) -> result | -errno
napi_value Bpf(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  int64_t cmd;
  void* a;
  size_t n;
  if (!ArgI64(env, argv[0], &cmd) || !ArgBytes(env, argv[1], &a, &n, false)) return nullptr;
  return Ret(env, syscall(__NR_bpf, (int)cmd, a, (unsigned int)n));
}

napi_value IfNameToIndex(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv, 1)) return nullptr;
  char name[IF_NAMESIZE + 1];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected a string");
    return nullptr;
  }
  unsigned idx = if_nametoindex(name);
  return Num(env, idx == 0 ? -errno : (double)idx);
}

napi_value IfIndexToName(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv, 1)) return nullptr;
  int64_t idx;
  if (!ArgI64(env, argv[0], &idx)) return nullptr;
  char name[IF_NAMESIZE + 1];
  if (!if_indextoname((unsigned)idx, name)) return Num(env, -errno);
  napi_value r;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &r);
  return r;
}

// setAffinity(cpus: Int32Array) -> 0 | -errno, for the calling thread.
napi_value SetAffinity(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv, 1)) return nullptr;
  void* p;
  size_t n;
  if (!ArgBytes(env, argv[0], &p, &n, false)) return nullptr;
  cpu_set_t set;
  CPU_ZERO(&set);
  int* cpus = static_cast<int*>(p);
  for (size_t i = 0; i < n / sizeof(int); i++)
    if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
  return Ret(env, sched_setaffinity(0, sizeof set, &set));
}

// getAffinity(out: Int32Array) -> how many CPUs were written | -errno, for the calling thread.
napi_value GetAffinity(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv, 1)) return nullptr;
  void* p;
  size_t n;
  if (!ArgBytes(env, argv[0], &p, &n, false)) return nullptr;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) < 0) return Num(env, -errno);
  int* out = static_cast<int*>(p);
  size_t k = 0;
  for (int c = 0; c < CPU_SETSIZE && k < n / sizeof(int); c++)
    if (CPU_ISSET(c, &set)) out[k++] = c;
  return Num(env, (double)k);
}

napi_value Gettid(napi_env env, napi_callback_info) { return Num(env, (double)syscall(SYS_gettid)); }

// setns(fd, nstype) -> 0 | -errno, for the calling thread.
napi_value Setns(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  int64_t fd, t;
  if (!ArgI64(env, argv[0], &fd) || !ArgI64(env, argv[1], &t)) return nullptr;
  return Ret(env, setns((int)fd, (int)t));
}

// ---- fds and bytes ---------------------------------------------------------------------------------
//
// For drivers whose packets cross a plain fd (a TAP device) or are copied between two mappings (an
// AF_PACKET ring and the UMEM): the byte range is given as (view, offset, length) so the data path never
// makes a subarray per packet. Results are Smis (napi_create_int32): nothing on the JavaScript heap.
// A range outside the view is a programming error: RangeError, nothing touched.

napi_value Int(napi_env env, int v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

// The bytes [off, off + len) of a typed array, or false (a TypeError/RangeError is pending).
bool ArgRange(napi_env env, napi_value view, napi_value offv, napi_value lenv, char** p, size_t* n) {
  void* base;
  size_t total;
  int64_t off, len;
  if (!ArgBytes(env, view, &base, &total, false) || !ArgI64(env, offv, &off) || !ArgI64(env, lenv, &len)) return false;
  if (off < 0 || len < 0 || (uint64_t)off + (uint64_t)len > total) {
    napi_throw_range_error(env, "ERANGE", "byte range outside the view");
    return false;
  }
  *p = static_cast<char*>(base) + off;
  *n = (size_t)len;
  return true;
}

// ioctl(fd, request, arg: typed array (its address) | number (the value)) -> result | -errno
napi_value Ioctl(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv, 3)) return nullptr;
  int64_t fd, req;
  if (!ArgI64(env, argv[0], &fd) || !ArgI64(env, argv[1], &req)) return nullptr;
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  unsigned long arg;
  if (t == napi_number) {
    int64_t v;
    if (!ArgI64(env, argv[2], &v)) return nullptr;
    arg = (unsigned long)v;
  } else {
    void* p;
    size_t n;
    if (!ArgBytes(env, argv[2], &p, &n, false)) return nullptr;
    arg = (unsigned long)(uintptr_t)p;
  }
  return Ret(env, ioctl((int)fd, (unsigned long)req, arg));
}

// read(fd, view, offset, length) -> bytes read | -errno, into view[offset, offset + length)
napi_value ReadFd(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv, 4)) return nullptr;
  int64_t fd;
  char* p;
  size_t n;
  if (!ArgI64(env, argv[0], &fd) || !ArgRange(env, argv[1], argv[2], argv[3], &p, &n)) return nullptr;
  ssize_t rc = read((int)fd, p, n);
  return Int(env, rc < 0 ? -errno : (int)rc);
}

// write(fd, view, offset, length) -> bytes written | -errno, from view[offset, offset + length)
napi_value WriteFd(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv, 4)) return nullptr;
  int64_t fd;
  char* p;
  size_t n;
  if (!ArgI64(env, argv[0], &fd) || !ArgRange(env, argv[1], argv[2], argv[3], &p, &n)) return nullptr;
  ssize_t rc = write((int)fd, p, n);
  return Int(env, rc < 0 ? -errno : (int)rc);
}

// copyBytes(dst, dstOffset, src, srcOffset, length) -> length: memmove between any two typed arrays
// (different buffers, or overlapping ranges of one).
napi_value CopyBytes(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, argv, 5)) return nullptr;
  char *d, *s;
  size_t dn, sn;
  if (!ArgRange(env, argv[2], argv[3], argv[4], &s, &sn)) return nullptr;
  if (!ArgRange(env, argv[0], argv[1], argv[4], &d, &dn)) return nullptr;
  memmove(d, s, sn);
  return Int(env, (int)sn);
}

// ---- fd readiness on the event loop (for SEQPACKET servers, which node:net cannot do) -------------
//
// watch() answers a handle: a plain object { fd } wrapping a Watch. While open, the Watch holds the
// callback strongly (an open watch is a GC root, like a node:net handle) and the handle weakly:
// - unwatch(handle) removes the wrap, drops the callback, stops the poll and uv_close()s it; the Watch is
//   freed in the close callback (uv_close is asynchronous). An unwatched handle stays a valid argument:
//   unwatch() and refWatch() on it are no-ops. Anything that is not a handle from watch() is a TypeError.
// - If the handle is garbage-collected while open (nothing, not even the callback, reaches it: nobody
//   can ever unwatch it), its finalizer does the same. Finalizers run outside the GC (Node defers those
//   of non-pure modules) and call no JavaScript. A callback that reaches its handle (the usual owner
//   pattern: cb -> owner -> handle) keeps the watch open until unwatch(), as an unclosed socket would.

struct Watch {
  uv_poll_t handle;
  napi_env env;
  napi_ref cb;    // strong while open
  napi_ref self;  // weak: the handle object (from napi_wrap)
  int fd;
};

// Marks handle objects made by watch() (napi_type_tag_object), so unwatch() can tell "already unwatched"
// (a no-op) from "not a watch handle" (a TypeError).
const napi_type_tag kWatchTag = {0x7864706c616e6557ULL, 0x617463682d763100ULL};

// Watch structures alive in the process (open, or closed and waiting for their close callback).
std::atomic<int64_t> g_watches{0};

void WatchClosed(uv_handle_t* h) {
  delete static_cast<Watch*>(h->data);
  g_watches--;
}

// Drops the references, stops and closes the poll; the Watch is freed in the close callback. The handle
// object no longer wraps it (unwrapped, or collected).
void WatchRelease(napi_env env, Watch* w) {
  if (w->cb != nullptr) napi_delete_reference(env, w->cb);
  w->cb = nullptr;
  if (w->self != nullptr) napi_delete_reference(env, w->self);
  w->self = nullptr;
  uv_poll_stop(&w->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), WatchClosed);
}

void WatchFired(uv_poll_t* h, int status, int events) {
  Watch* w = static_cast<Watch*>(h->data);
  if (w->cb == nullptr) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, global, argv[1], result;
  if (napi_get_reference_value(env, w->cb, &cb) == napi_ok && cb != nullptr) {
    napi_get_global(env, &global);
    argv[0] = Num(env, status < 0 ? status : events);
    if (napi_call_function(env, global, cb, 1, argv, &result) == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

// The handle object was collected while still watching. Runs outside the GC (Node defers finalizers of
// non-pure modules), also at environment teardown; calls no JavaScript.
void WatchFinalize(napi_env env, void* data, void*) { WatchRelease(env, static_cast<Watch*>(data)); }

// The Watch a handle wraps; nullptr when it was unwatched. Throws a TypeError (and returns false) when
// `v` is not a handle from watch().
bool WatchOf(napi_env env, napi_value v, Watch** out, const char* fn) {
  napi_valuetype t;
  bool tagged = false;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object ||
      napi_check_object_type_tag(env, v, &kWatchTag, &tagged) != napi_ok || !tagged) {
    napi_throw_type_error(env, "EINVAL", fn);
    return false;
  }
  void* p = nullptr;
  if (napi_unwrap(env, v, &p) != napi_ok) p = nullptr;
  *out = static_cast<Watch*>(p);
  return true;
}

// watch(fd, events (1 readable | 2 writable), callback(events | -errno)) -> handle | -errno. -EBADF for a
// negative fd; the kernel's error when the fd cannot be polled (EPERM for a regular file, EBADF for a
// closed fd), with nothing left behind.
napi_value WatchFd(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv, 3)) return nullptr;
  int64_t fd, ev;
  if (!ArgI64(env, argv[0], &fd) || !ArgI64(env, argv[1], &ev)) return nullptr;
  napi_valuetype t;
  if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, "EINVAL", "watch: expected (fd, events, callback)");
    return nullptr;
  }
  if (ev < 1 || ev > 3) {
    napi_throw_range_error(env, "EINVAL", "watch: events must be 1 (readable), 2 (writable) or 3");
    return nullptr;
  }
  if (fd < 0 || fd > INT32_MAX) return Num(env, -EBADF);
  uv_loop_t* loop;
  CHECK_NAPI(napi_get_uv_event_loop(env, &loop));

  // The handle object first: once the poll is running, nothing can fail half-way.
  napi_value obj, fdv;
  CHECK_NAPI(napi_create_object(env, &obj));
  CHECK_NAPI(napi_create_int32(env, (int32_t)fd, &fdv));
  napi_property_descriptor props[] = {
      {"fd", nullptr, nullptr, nullptr, nullptr, fdv, napi_enumerable, nullptr},
  };
  CHECK_NAPI(napi_define_properties(env, obj, 1, props));
  CHECK_NAPI(napi_type_tag_object(env, obj, &kWatchTag));
  napi_ref cb;
  CHECK_NAPI(napi_create_reference(env, argv[2], 1, &cb));

  Watch* w = new Watch();
  w->env = env;
  w->cb = cb;
  w->self = nullptr;
  w->fd = (int)fd;
  int rc = uv_poll_init(loop, &w->handle, (int)fd);
  if (rc != 0) {
    napi_delete_reference(env, cb);
    delete w;             // not registered with the loop
    return Num(env, rc);  // libuv errors are -errno on Unix
  }
  g_watches++;
  w->handle.data = w;
  int uvev = ((ev & 1) ? UV_READABLE : 0) | ((ev & 2) ? UV_WRITABLE : 0);
  rc = uv_poll_start(&w->handle, uvev, WatchFired);
  if (rc == 0 && napi_wrap(env, obj, w, WatchFinalize, nullptr, &w->self) == napi_ok) return obj;
  WatchRelease(env, w);
  if (rc != 0) return Num(env, rc);
  napi_throw_error(env, "EINVAL", "watch: napi_wrap failed");
  return nullptr;
}

// unwatch(handle): stop watching; the fd is not closed. Unwatching again is a no-op.
napi_value Unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv, 1)) return nullptr;
  Watch* w;
  if (!WatchOf(env, argv[0], &w, "unwatch: expected a handle from watch()")) return nullptr;
  if (w == nullptr) return nullptr;
  void* p;
  CHECK_NAPI(napi_remove_wrap(env, argv[0], &p));  // the finalizer will not run
  WatchRelease(env, w);
  return nullptr;
}

// refWatch(handle, ref: boolean): whether the watch keeps the process alive. A no-op after unwatch().
napi_value RefWatch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  Watch* w;
  bool ref;
  if (!WatchOf(env, argv[0], &w, "refWatch: expected (handle from watch(), boolean)")) return nullptr;
  if (napi_get_value_bool(env, argv[1], &ref) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "refWatch: expected (handle from watch(), boolean)");
    return nullptr;
  }
  if (w == nullptr) return nullptr;
  if (ref) uv_ref(reinterpret_cast<uv_handle_t*>(&w->handle));
  else uv_unref(reinterpret_cast<uv_handle_t*>(&w->handle));
  return nullptr;
}

// watchCount() -> Watch structures alive in the process (open, or closing): for leak tests.
napi_value WatchCount(napi_env env, napi_callback_info) { return Num(env, (double)g_watches.load()); }

// ---- clocks ---------------------------------------------------------------------------------------

// clockGettime(clockId, out: Float64Array (>= 2 elements)) -> 0 | -errno; out[0] = tv_sec, out[1] =
// tv_nsec, both exact. For the data path: it allocates nothing on the JavaScript heap (the result is a
// Smi, the time goes into the caller's array).
napi_value ClockGettime(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t id;
  napi_typedarray_type tt;
  size_t n;
  void* p;
  // napi_get_typedarray_info fails (napi_invalid_arg) for anything but a typed array.
  if (argc < 2 || napi_get_value_int32(env, argv[0], &id) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &tt, &n, &p, nullptr, nullptr) != napi_ok ||
      tt != napi_float64_array || n < 2) {
    napi_throw_type_error(env, "EINVAL", "clockGettime: expected (clockId, Float64Array of >= 2 elements)");
    return nullptr;
  }
  struct timespec ts;
  int rc = clock_gettime((clockid_t)id, &ts);
  napi_value r;
  if (rc < 0) {
    napi_create_int32(env, -errno, &r);
    return r;
  }
  double* out = static_cast<double*>(p);
  out[0] = (double)ts.tv_sec;
  out[1] = (double)ts.tv_nsec;
  napi_create_int32(env, 0, &r);
  return r;
}

// ---- shared memory between processes (memif) -------------------------------------------------------

// memfdCreate(name, flags) -> fd | -errno: an anonymous file to share by fd (memfd_create(2)).
napi_value MemfdCreate(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  char name[250];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected a string");
    return nullptr;
  }
  int64_t flags;
  if (!ArgI64(env, argv[1], &flags)) return nullptr;
  return Ret(env, (long)syscall(SYS_memfd_create, name, (unsigned)flags));
}

// eventfd(initval, flags) -> fd | -errno (eventfd(2)).
napi_value EventFd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv, 2)) return nullptr;
  int64_t init, flags;
  if (!ArgI64(env, argv[0], &init) || !ArgI64(env, argv[1], &flags)) return nullptr;
  return Ret(env, (long)syscall(SYS_eventfd2, (unsigned)init, (int)flags));
}

// fcntl(fd, cmd, intArg) -> result | -errno (commands with an int argument: F_GETFL, F_ADD_SEALS, ...).
napi_value Fcntl(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv, 3)) return nullptr;
  int64_t fd, cmd, arg;
  if (!ArgI64(env, argv[0], &fd) || !ArgI64(env, argv[1], &cmd) || !ArgI64(env, argv[2], &arg)) return nullptr;
  return Ret(env, fcntl((int)fd, (int)cmd, (int)arg));
}

// mmapFixed(view, at, length, fd, offset) -> 0 | -errno. Replaces the memory of bytes [at, at + length) of a
// mapping made by mmap() (view starts at its first byte, not released) in place, keeping the address, so
// every SharedArrayBuffer view over it (in any thread) sees the new memory: fd >= 0 maps the file at
// `offset` there (MAP_SHARED, read/write); fd = -1 puts zero pages (no memory) there again. `at` is a
// multiple of the page size. -EINVAL, touching nothing, for anything else or a range past the mapping.
napi_value MmapFixed(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, argv, 5)) return nullptr;
  bool is_ta = false;
  napi_is_typedarray(env, argv[0], &is_ta);
  if (!is_ta) {
    napi_throw_type_error(env, "EINVAL", "mmapFixed: expected a typed array over a mapping");
    return nullptr;
  }
  int64_t at, len, fd, off;
  if (!ArgI64(env, argv[1], &at) || !ArgI64(env, argv[2], &len) || !ArgI64(env, argv[3], &fd) ||
      !ArgI64(env, argv[4], &off))
    return nullptr;
  napi_typedarray_type tt;
  size_t n, voff;
  napi_value ab;
  void* p;
  CHECK_NAPI(napi_get_typedarray_info(env, argv[0], &tt, &n, &p, &ab, &voff));
  if (p == nullptr || voff != 0) return Num(env, -EINVAL);
  long page = sysconf(_SC_PAGESIZE);
  if (at < 0 || len <= 0 || off < 0 || at % page != 0) return Num(env, -EINVAL);
  std::lock_guard<std::mutex> lock(g_maps_mu);
  auto it = g_maps.find(reinterpret_cast<uintptr_t>(p));
  if (it == g_maps.end() || it->second.released) return Num(env, -EINVAL);
  if ((size_t)at > it->second.len || (size_t)len > it->second.len - (size_t)at) return Num(env, -EINVAL);
  void* addr = static_cast<char*>(p) + at;
  void* r = fd < 0 ? mmap(addr, (size_t)len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0)
                   : mmap(addr, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, (int)fd, (off_t)off);
  if (r == MAP_FAILED) return Num(env, -errno);
  return Num(env, 0);
}

}  // namespace

NAPI_MODULE_INIT() {
  // Never unload the shim: Node dlclose()s an addon with the last environment (worker) that loaded it,
  // while code here can still be called afterwards: a SharedArrayBuffer from mmap() that outlived the
  // worker calls MappingDeleter when collected, and a watch closed at the worker's teardown gets its
  // uv_close callback from the loop after the environment is gone.
  static std::once_flag pinned;
  std::call_once(pinned, [] {
    Dl_info dl;
    if (dladdr(reinterpret_cast<void*>(&MappingDeleter), &dl) != 0 && dl.dli_fname != nullptr)
      dlopen(dl.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
  });
  struct {
    const char* name;
    napi_callback fn;
  } fns[] = {
      {"mmap", Mmap},           {"munmap", Munmap},         {"addressOf", AddressOf},
      {"socket", Socket},       {"close", Close},           {"bind", Bind},
      {"connect", Connect},     {"listen", Listen},         {"accept4", Accept4},
      {"setsockopt", Setsockopt}, {"getsockopt", Getsockopt}, {"sendto", Sendto},
      {"recvfrom", Recvfrom},   {"sendmsg", Sendmsg},       {"recvmsg", Recvmsg},
      {"poll", Poll},           {"bpf", Bpf},               {"ifNameToIndex", IfNameToIndex},
      {"ifIndexToName", IfIndexToName}, {"setAffinity", SetAffinity}, {"getAffinity", GetAffinity},
      {"gettid", Gettid},       {"setns", Setns},           {"watch", WatchFd},
      {"unwatch", Unwatch},     {"refWatch", RefWatch},     {"watchCount", WatchCount},
      {"clockGettime", ClockGettime}, {"ioctl", Ioctl},       {"read", ReadFd},
      {"write", WriteFd},       {"copyBytes", CopyBytes},
      {"memfdCreate", MemfdCreate}, {"eventfd", EventFd}, {"fcntl", Fcntl},
      {"mmapFixed", MmapFixed}, {"madvise", Madvise},
  };
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}
