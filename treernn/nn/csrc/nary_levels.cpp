// The binary N-ary Tree-LSTM's internal levels (Tai et al. 2015, eqs. 9-14), forward and
// hand-derived backward, as one C++ loop over the levels: per level one gather, one matrix
// multiply and ONE fused pass over the gate arithmetic (PyTorch's vectorized sigmoid, the
// same Sleef exp), instead of a dozen PyTorch operators dispatched from Python per level.
// The maths is treernn.nn.tree_cells._NaryKernel's (step / step_backward), which stays the
// fallback and the reference the tests compare this with.
//
// Built at first use by treernn/nn/fused.py (torch.utils.cpp_extension.load) for CPUs with
// AVX2; registers torch.ops.treernn_levels.nary_forward / nary_backward.
//
// Legend: N nodes, n0 leaves, Ni = N - n0 internal nodes (level order), H hidden size, n the
// nodes of one level. Buffers are level ordered: rows 0:n0 leaves, then level after level;
// the state buffers have one more row (N), the zero state of a missing child.
// Activation rows of `act` are [i, o, f_1, f_2, u] (5H), the order of weight_hh's rows.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

namespace {

using at::Tensor;
using at::vec::Vectorized;

// Rows of a level handled by one task of at::parallel_for (one thread below this).
constexpr int64_t kGrain = 64;

template <typename T>
inline Vectorized<T> sigmoid(Vectorized<T> x) {
  // PyTorch's CPU sigmoid kernel: 1 / (1 + exp(-x))
  return (Vectorized<T>(T(1)) + x.neg().exp()).reciprocal();
}

template <typename T>
inline Vectorized<T> tanh_(Vectorized<T> x) {
  // tanh(x) = 2 sigmoid(2x) - 1: PyTorch's CPU tanh is ~4.5x slower than its sigmoid here
  // (see tree_cells._tanh); float32 difference at most 2e-7.
  const Vectorized<T> two(T(2));
  return two * sigmoid(two * x) - Vectorized<T>(T(1));
}

template <typename T>
inline Vectorized<T> load(const T* p, int64_t count) {
  return count == Vectorized<T>::size() ? Vectorized<T>::loadu(p) : Vectorized<T>::loadu(p, count);
}

template <typename T>
inline void store(Vectorized<T> v, T* p, int64_t count) {
  if (count == Vectorized<T>::size()) v.store(p); else v.store(p, count);
}

// Gate arithmetic of rows [r0, r1) of one level, forward (after a = xw + [h_1; h_2] U^T).
template <typename T>
void forward_rows(T* act, T* tanh_c, T* h, T* c, const T* c_all, const int64_t* kids,
                  int64_t H, int64_t r0, int64_t r1) {
  using V = Vectorized<T>;
  for (int64_t r = r0; r < r1; ++r) {
    T* a = act + r * 5 * H;
    const T* c1 = c_all + kids[2 * r] * H;
    const T* c2 = c_all + kids[2 * r + 1] * H;
    for (int64_t j = 0; j < H; j += V::size()) {
      const int64_t m = std::min<int64_t>(V::size(), H - j);
      V i = sigmoid(load(a + j, m));               // Tai et al. 2015, eq. 9
      V o = sigmoid(load(a + H + j, m));           // eq. 11
      V f1 = sigmoid(load(a + 2 * H + j, m));      // eq. 10, k = 1
      V f2 = sigmoid(load(a + 3 * H + j, m));      // eq. 10, k = 2
      V u = tanh_(load(a + 4 * H + j, m));         // eq. 12
      V cn = i * u + f1 * load(c1 + j, m) + f2 * load(c2 + j, m);  // eq. 13
      V tc = tanh_(cn);
      store(i, a + j, m); store(o, a + H + j, m); store(f1, a + 2 * H + j, m);
      store(f2, a + 3 * H + j, m); store(u, a + 4 * H + j, m);
      store(cn, c + r * H + j, m);
      store(tc, tanh_c + r * H + j, m);
      store(o * tc, h + r * H + j, m);             // eq. 14
    }
  }
}

// Rows [r0, r1) of one level, backward: d_int := the gradients of the gate pre-activations;
// dc (the level's rows of d_c) is completed in place; each child's d_c gets f_k dc.
// Children rows are distinct (a node has one parent), so rows can run in parallel.
template <typename T>
void backward_rows(const T* act, const T* tanh_c, const T* dh, T* dc, T* d_int, T* d_c_all,
                   const T* c_all, const int64_t* kids, int64_t H, int64_t r0, int64_t r1) {
  using V = Vectorized<T>;
  const V one(T(1));
  for (int64_t r = r0; r < r1; ++r) {
    const T* a = act + r * 5 * H;
    T* d = d_int + r * 5 * H;
    const T* c1 = c_all + kids[2 * r] * H;
    const T* c2 = c_all + kids[2 * r + 1] * H;
    T* dc1 = d_c_all + kids[2 * r] * H;
    T* dc2 = d_c_all + kids[2 * r + 1] * H;
    for (int64_t j = 0; j < H; j += V::size()) {
      const int64_t m = std::min<int64_t>(V::size(), H - j);
      V i = load(a + j, m), o = load(a + H + j, m), f1 = load(a + 2 * H + j, m);
      V f2 = load(a + 3 * H + j, m), u = load(a + 4 * H + j, m);
      V tc = load(tanh_c + r * H + j, m), g = load(dh + r * H + j, m);
      V gc = load(dc + r * H + j, m) + g * o * (one - tc * tc);  // dL/dc, through h too
      store(gc * u * i * (one - i), d + j, m);                         // i
      store(g * tc * o * (one - o), d + H + j, m);                     // o
      store(gc * load(c1 + j, m) * f1 * (one - f1), d + 2 * H + j, m);  // f_1
      store(gc * load(c2 + j, m) * f2 * (one - f2), d + 3 * H + j, m);  // f_2
      store(gc * i * (one - u * u), d + 4 * H + j, m);                 // u
      store(load(dc1 + j, m) + gc * f1, dc1 + j, m);                   // to child 1's c
      store(load(dc2 + j, m) + gc * f2, dc2 + j, m);                   // to child 2's c
    }
  }
}

// dh_kids (n, 2H) added to the children's rows of d_h.
template <typename T>
void add_to_children(const T* dh_kids, T* d_h_all, const int64_t* kids, int64_t H, int64_t r0,
                     int64_t r1) {
  using V = Vectorized<T>;
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t k = 0; k < 2; ++k) {
      const T* src = dh_kids + (2 * r + k) * H;
      T* dst = d_h_all + kids[2 * r + k] * H;
      for (int64_t j = 0; j < H; j += V::size()) {
        const int64_t m = std::min<int64_t>(V::size(), H - j);
        store(load(dst + j, m) + load(src + j, m), dst + j, m);
      }
    }
  }
}

void check(bool ok, const char* what) { TORCH_CHECK(ok, "treernn_levels: ", what); }

// Every internal level, bottom-up. h, c (N + 1, H): leaves written, the rest is written here;
// xw (Ni, 5H) the projected inputs (rows may be a broadcast view); u_t (2H, 5H) weight_hh^T;
// kids (2 Ni,) the children's rows; offsets: the level offsets (level 0 = leaves). Writes act
// (Ni, 5H) activated gates, tanh_c (Ni, H) and h_cat (Ni, 2H) the gathered children h.
void nary_forward(Tensor h, Tensor c, const Tensor& xw, const Tensor& u_t, const Tensor& kids,
                  at::IntArrayRef offsets, Tensor act, Tensor tanh_c, Tensor h_cat) {
  const int64_t H = h.size(1), n0 = offsets[1] - offsets[0];
  check(h.is_contiguous() && c.is_contiguous() && act.is_contiguous() && tanh_c.is_contiguous()
        && h_cat.is_contiguous() && kids.is_contiguous(), "buffers must be contiguous");
  check(kids.scalar_type() == at::kLong && h.device().is_cpu(), "CPU tensors, int64 children");
  Tensor hc2 = h_cat.view({-1, H});  // (2 Ni, H)
  AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "nary_forward", [&] {
    const int64_t* kid = kids.data_ptr<int64_t>();
    for (int64_t k = 1; k + 1 < static_cast<int64_t>(offsets.size()); ++k) {
      const int64_t lo = offsets[k], n = offsets[k + 1] - lo, ilo = lo - n0;
      Tensor gathered = hc2.narrow(0, 2 * ilo, 2 * n);  // (2n, H)
      at::index_select_out(gathered, h, 0, kids.narrow(0, 2 * ilo, 2 * n));
      Tensor a = act.narrow(0, ilo, n);  // (n, 5H)
      at::addmm_out(a, xw.narrow(0, ilo, n), h_cat.narrow(0, ilo, n), u_t);  // eqs. 9-12
      scalar_t* A = act.data_ptr<scalar_t>() + ilo * 5 * H;
      scalar_t* TC = tanh_c.data_ptr<scalar_t>() + ilo * H;
      scalar_t* Hn = h.data_ptr<scalar_t>() + lo * H;
      scalar_t* Cn = c.data_ptr<scalar_t>() + lo * H;
      const scalar_t* C = c.data_ptr<scalar_t>();
      const int64_t* K = kid + 2 * ilo;
      at::parallel_for(0, n, kGrain, [&](int64_t r0, int64_t r1) {
        forward_rows<scalar_t>(A, TC, Hn, Cn, C, K, H, r0, r1);
      });
    }
  });
}

// Every internal level, top-down. d_h, d_c (N + 1, H): the states' gradients, level order;
// the children's rows are accumulated here. Writes d_int (Ni, 5H), the gradients of the gates'
// pre-activations (of xw). u (5H, 2H) weight_hh; the rest as saved by nary_forward.
void nary_backward(Tensor d_h, Tensor d_c, Tensor d_int, const Tensor& act, const Tensor& tanh_c,
                   const Tensor& c, const Tensor& u, const Tensor& kids, at::IntArrayRef offsets) {
  const int64_t H = d_h.size(1), n0 = offsets[1] - offsets[0];
  check(d_h.is_contiguous() && d_c.is_contiguous() && d_int.is_contiguous() && act.is_contiguous()
        && tanh_c.is_contiguous() && c.is_contiguous() && kids.is_contiguous(),
        "buffers must be contiguous");
  AT_DISPATCH_FLOATING_TYPES(d_h.scalar_type(), "nary_backward", [&] {
    const int64_t* kid = kids.data_ptr<int64_t>();
    Tensor dh_kids;
    for (int64_t k = static_cast<int64_t>(offsets.size()) - 2; k >= 1; --k) {
      const int64_t lo = offsets[k], n = offsets[k + 1] - lo, ilo = lo - n0;
      const int64_t* K = kid + 2 * ilo;
      scalar_t* D = d_int.data_ptr<scalar_t>() + ilo * 5 * H;
      const scalar_t* A = act.data_ptr<scalar_t>() + ilo * 5 * H;
      const scalar_t* TC = tanh_c.data_ptr<scalar_t>() + ilo * H;
      const scalar_t* G = d_h.data_ptr<scalar_t>() + lo * H;
      scalar_t* GC = d_c.data_ptr<scalar_t>() + lo * H;
      scalar_t* DC = d_c.data_ptr<scalar_t>();
      const scalar_t* C = c.data_ptr<scalar_t>();
      at::parallel_for(0, n, kGrain, [&](int64_t r0, int64_t r1) {
        backward_rows<scalar_t>(A, TC, G, GC, D, DC, C, K, H, r0, r1);
      });
      dh_kids = at::mm(d_int.narrow(0, ilo, n), u);  // (n, 2H)  [dh_1 | dh_2]
      const scalar_t* S = dh_kids.data_ptr<scalar_t>();
      scalar_t* DH = d_h.data_ptr<scalar_t>();
      at::parallel_for(0, n, kGrain, [&](int64_t r0, int64_t r1) {
        add_to_children<scalar_t>(S, DH, K, H, r0, r1);
      });
    }
  });
}

}  // namespace

TORCH_LIBRARY(treernn_levels, m) {
  m.def("nary_forward(Tensor(a!) h, Tensor(b!) c, Tensor xw, Tensor u_t, Tensor kids, int[] offsets, "
        "Tensor(c!) act, Tensor(d!) tanh_c, Tensor(e!) h_cat) -> ()", &nary_forward);
  m.def("nary_backward(Tensor(a!) d_h, Tensor(b!) d_c, Tensor(c!) d_int, Tensor act, Tensor tanh_c, "
        "Tensor c, Tensor u, Tensor kids, int[] offsets) -> ()", &nary_backward);
}
