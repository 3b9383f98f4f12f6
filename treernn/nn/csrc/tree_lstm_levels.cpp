// The Tree-LSTMs' internal levels (Tai et al. 2015: the binary N-ary, eqs. 9-14, and the
// Child-Sum, eqs. 2-8), forward and hand-derived backward, as one C++ loop over the levels: per level one gather, one matrix
// multiply and ONE fused pass over the gate arithmetic (PyTorch's vectorized sigmoid, the
// same Sleef exp), instead of a dozen PyTorch operators dispatched from Python per level.
// The maths is treernn.nn.tree_cells._NaryKernel's and _ChildSumKernel's (step /
// step_backward), which stay the fallback and the reference the tests compare this with.
//
// Built at first use by treernn/nn/fused.py (torch.utils.cpp_extension.load) for CPUs with
// AVX2; registers torch.ops.treernn_levels.{nary,child_sum}_{forward,backward}.
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


// --------------------------------------------------------------------------- Child-Sum
// The Child-Sum Tree-LSTM (Tai et al. 2015, eqs. 2-8): K child slots per node (a node with
// fewer children has the pad row N, a zero state, in the others). `act` rows are [i, o, u]
// (3H); `f` (Ni K, H) the per-child forget gates, activated; `h_kids` (Ni K, H) and `h_sum`
// (Ni, H) the gathered children h and their sum, kept for the weight gradients.

// f holds U_f h_k on entry and the activated gates on return; xf (row stride xs): W_f x + b_f.
template <typename T>
void cs_forward_rows(T* act, T* f, const T* xf, int64_t xs, T* tanh_c, T* h, T* c, const T* c_all,
                     const int64_t* kids, int64_t K, int64_t H, int64_t r0, int64_t r1) {
  using V = Vectorized<T>;
  for (int64_t r = r0; r < r1; ++r) {
    T* a = act + r * 3 * H;
    for (int64_t j = 0; j < H; j += V::size()) {
      const int64_t m = std::min<int64_t>(V::size(), H - j);
      V i = sigmoid(load(a + j, m));               // Tai et al. 2015, eq. 3
      V o = sigmoid(load(a + H + j, m));           // eq. 5
      V u = tanh_(load(a + 2 * H + j, m));         // eq. 6
      V x = load(xf + r * xs + j, m);
      V cn = i * u;
      for (int64_t k = 0; k < K; ++k) {            // eq. 7: + sum_k f_k * c_k
        T* fk = f + (r * K + k) * H + j;
        V fv = sigmoid(load(fk, m) + x);           // eq. 4: one gate per child
        store(fv, fk, m);
        cn = cn + fv * load(c_all + kids[r * K + k] * H + j, m);
      }
      V tc = tanh_(cn);
      store(i, a + j, m); store(o, a + H + j, m); store(u, a + 2 * H + j, m);
      store(cn, c + r * H + j, m);
      store(tc, tanh_c + r * H + j, m);
      store(o * tc, h + r * H + j, m);             // eq. 8
    }
  }
}

template <typename T>
void cs_backward_rows(const T* act, const T* f, const T* tanh_c, const T* dh, T* dc, T* d_int,
                      T* d_f, T* d_c_all, const T* c_all, const int64_t* kids, int64_t pad, int64_t K,
                      int64_t H, int64_t r0, int64_t r1) {
  using V = Vectorized<T>;
  const V one(T(1));
  for (int64_t r = r0; r < r1; ++r) {
    const T* a = act + r * 3 * H;
    T* d = d_int + r * 4 * H;
    for (int64_t j = 0; j < H; j += V::size()) {
      const int64_t m = std::min<int64_t>(V::size(), H - j);
      V i = load(a + j, m), o = load(a + H + j, m), u = load(a + 2 * H + j, m);
      V tc = load(tanh_c + r * H + j, m), g = load(dh + r * H + j, m);
      V gc = load(dc + r * H + j, m) + g * o * (one - tc * tc);  // dL/dc, through h too
      store(gc * u * i * (one - i), d + j, m);                    // i
      store(g * tc * o * (one - o), d + H + j, m);                // o
      store(gc * i * (one - u * u), d + 2 * H + j, m);            // u
      V df_sum(T(0));
      for (int64_t k = 0; k < K; ++k) {
        const int64_t row = kids[r * K + k];
        const T* fk = f + (r * K + k) * H + j;
        V fv = load(fk, m);
        V df = gc * load(c_all + row * H + j, m) * fv * (one - fv);  // f_k's pre-activation
        store(df, d_f + (r * K + k) * H + j, m);
        df_sum = df_sum + df;
        if (row != pad) store(load(d_c_all + row * H + j, m) + gc * fv, d_c_all + row * H + j, m);
      }
      store(df_sum, d + 3 * H + j, m);  // W_f x + b_f is shared by every child
    }
  }
}

// Every internal level, bottom-up (see nary_forward). xw (Ni, 4H) [i, o, u, f] inputs;
// u_iou_t (H, 3H), u_f_t (H, H) the transposed recurrent weights; kids (Ni, K).
void child_sum_forward(Tensor h, Tensor c, const Tensor& xw, const Tensor& u_iou_t, const Tensor& u_f_t,
                       const Tensor& kids, at::IntArrayRef offsets, Tensor act, Tensor f, Tensor tanh_c,
                       Tensor h_kids, Tensor h_sum) {
  const int64_t H = h.size(1), n0 = offsets[1] - offsets[0], K = kids.size(1);
  check(h.is_contiguous() && c.is_contiguous() && act.is_contiguous() && f.is_contiguous()
        && tanh_c.is_contiguous() && h_kids.is_contiguous() && h_sum.is_contiguous()
        && kids.is_contiguous(), "buffers must be contiguous");
  check(kids.scalar_type() == at::kLong && h.device().is_cpu(), "CPU tensors, int64 children");
  check(xw.stride(1) == 1, "xw's rows must be contiguous (a broadcast row is fine)");
  const int64_t xs = xw.stride(0);  // 0 for the broadcast bias of phrase-structure trees
  AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "child_sum_forward", [&] {
    const int64_t* kid = kids.data_ptr<int64_t>();
    for (int64_t k = 1; k + 1 < static_cast<int64_t>(offsets.size()); ++k) {
      const int64_t lo = offsets[k], n = offsets[k + 1] - lo, ilo = lo - n0;
      Tensor hk = h_kids.narrow(0, ilo * K, n * K);  // (n K, H)
      at::index_select_out(hk, h, 0, kids.narrow(0, ilo, n).view({-1}));
      Tensor hs = h_sum.narrow(0, ilo, n);  // (n, H)  Tai et al. 2015, eq. 2
      at::sum_out(hs, hk.view({n, K, H}), {1});
      Tensor x = xw.narrow(0, ilo, n);
      Tensor a = act.narrow(0, ilo, n);  // (n, 3H)  eqs. 3, 5, 6 before the activations
      at::addmm_out(a, x.narrow(1, 0, 3 * H), hs, u_iou_t);
      Tensor fk = f.narrow(0, ilo * K, n * K);  // (n K, H)  U_f h_k of eq. 4
      at::mm_out(fk, hk, u_f_t);
      scalar_t* A = act.data_ptr<scalar_t>() + ilo * 3 * H;
      scalar_t* F = f.data_ptr<scalar_t>() + ilo * K * H;
      const scalar_t* XF = xw.data_ptr<scalar_t>() + ilo * xs + 3 * H;  // W_f x + b_f
      scalar_t* TC = tanh_c.data_ptr<scalar_t>() + ilo * H;
      scalar_t* Hn = h.data_ptr<scalar_t>() + lo * H;
      scalar_t* Cn = c.data_ptr<scalar_t>() + lo * H;
      const scalar_t* C = c.data_ptr<scalar_t>();
      const int64_t* KI = kid + ilo * K;
      at::parallel_for(0, n, kGrain, [&](int64_t r0, int64_t r1) {
        cs_forward_rows<scalar_t>(A, F, XF, xs, TC, Hn, Cn, C, KI, K, H, r0, r1);
      });
    }
  });
}

// Every internal level, top-down (see nary_backward). Writes d_int (Ni, 4H) and d_f (Ni K, H),
// the gradients of the forget gates' pre-activations per child (for weight_hh_f's gradient).
void child_sum_backward(Tensor d_h, Tensor d_c, Tensor d_int, Tensor d_f, const Tensor& act,
                        const Tensor& f, const Tensor& tanh_c, const Tensor& c, const Tensor& u_iou,
                        const Tensor& u_f, const Tensor& kids, at::IntArrayRef offsets) {
  const int64_t H = d_h.size(1), n0 = offsets[1] - offsets[0], K = kids.size(1);
  const int64_t pad = d_h.size(0) - 1;
  check(d_h.is_contiguous() && d_c.is_contiguous() && d_int.is_contiguous() && d_f.is_contiguous()
        && act.is_contiguous() && f.is_contiguous() && tanh_c.is_contiguous() && c.is_contiguous()
        && kids.is_contiguous(), "buffers must be contiguous");
  AT_DISPATCH_FLOATING_TYPES(d_h.scalar_type(), "child_sum_backward", [&] {
    const int64_t* kid = kids.data_ptr<int64_t>();
    for (int64_t k = static_cast<int64_t>(offsets.size()) - 2; k >= 1; --k) {
      const int64_t lo = offsets[k], n = offsets[k + 1] - lo, ilo = lo - n0;
      const int64_t* KI = kid + ilo * K;
      scalar_t* D = d_int.data_ptr<scalar_t>() + ilo * 4 * H;
      scalar_t* DF = d_f.data_ptr<scalar_t>() + ilo * K * H;
      const scalar_t* A = act.data_ptr<scalar_t>() + ilo * 3 * H;
      const scalar_t* F = f.data_ptr<scalar_t>() + ilo * K * H;
      const scalar_t* TC = tanh_c.data_ptr<scalar_t>() + ilo * H;
      const scalar_t* G = d_h.data_ptr<scalar_t>() + lo * H;
      scalar_t* GC = d_c.data_ptr<scalar_t>() + lo * H;
      scalar_t* DC = d_c.data_ptr<scalar_t>();
      const scalar_t* C = c.data_ptr<scalar_t>();
      at::parallel_for(0, n, kGrain, [&](int64_t r0, int64_t r1) {
        cs_backward_rows<scalar_t>(A, F, TC, G, GC, D, DF, DC, C, KI, pad, K, H, r0, r1);
      });
      Tensor dh_sum = at::mm(d_int.narrow(0, ilo, n).narrow(1, 0, 3 * H), u_iou);  // (n, H)
      Tensor dh_f = at::mm(d_f.narrow(0, ilo * K, n * K), u_f);  // (n K, H)
      const scalar_t* S = dh_sum.data_ptr<scalar_t>();
      const scalar_t* SF = dh_f.data_ptr<scalar_t>();
      scalar_t* DH = d_h.data_ptr<scalar_t>();
      at::parallel_for(0, n, kGrain, [&](int64_t r0, int64_t r1) {
        using V = Vectorized<scalar_t>;
        for (int64_t r = r0; r < r1; ++r) {
          for (int64_t q = 0; q < K; ++q) {
            const int64_t row = KI[r * K + q];
            if (row == pad) continue;
            scalar_t* dst = DH + row * H;
            for (int64_t j = 0; j < H; j += V::size()) {
              const int64_t m = std::min<int64_t>(V::size(), H - j);
              store(load(dst + j, m) + load(S + r * H + j, m) + load(SF + (r * K + q) * H + j, m), dst + j, m);
            }
          }
        }
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
  m.def("child_sum_forward(Tensor(a!) h, Tensor(b!) c, Tensor xw, Tensor u_iou_t, Tensor u_f_t, "
        "Tensor kids, int[] offsets, Tensor(c!) act, Tensor(d!) f, Tensor(e!) tanh_c, Tensor(f!) h_kids, "
        "Tensor(g!) h_sum) -> ()", &child_sum_forward);
  m.def("child_sum_backward(Tensor(a!) d_h, Tensor(b!) d_c, Tensor(c!) d_int, Tensor(d!) d_f, Tensor act, "
        "Tensor f, Tensor tanh_c, Tensor c, Tensor u_iou, Tensor u_f, Tensor kids, int[] offsets) -> ()",
        &child_sum_backward);
}
