"""The LSTM and LayerNorm-LSTM step kernels of :mod:`seqlab.nn.lstm_loop` as PyTorch ops: the
loop's fallback on GPU, for other dtypes and where no C compiler is found. Same arguments, same
equations (see :mod:`seqlab.nn.lstm_loop`) and the same buffers written as the C kernels."""

from __future__ import annotations

import torch
from torch import Tensor

from seqlab.nn.padding import keep_where


class TorchKernels:
    """The same kernels as PyTorch ops (any device and dtype); same arguments as the C ones."""

    @staticmethod
    def _activate(a: Tensor, H: int) -> None:
        a[:, : 2 * H].sigmoid_()
        a[:, 2 * H : 3 * H].tanh_()
        a[:, 3 * H :].sigmoid_()

    @staticmethod
    def _keep(mask, h_prev, c_prev, h, c) -> None:
        if mask is not None:
            kept = keep_where(mask.unsqueeze(1), (h, c), (h_prev, c_prev))
            h.copy_(kept[0])
            c.copy_(kept[1])

    @staticmethod
    def _incoming(dh_next, d_out, mask, carry):
        """e = d h' at real steps (0 at padded ones); carry collects the pass-through."""
        e = dh_next + d_out + carry
        if mask is None:
            carry.zero_()
            return e, None
        m = mask.unsqueeze(1)
        carry.copy_(torch.where(m, 0, carry + dh_next))
        return torch.where(m, e, 0), m

    @classmethod
    def lstm_forward(cls, B, H, hw, xw, h_prev, c_prev, mask, act, tc, h, c):
        torch.add(hw, xw, out=act)
        cls._activate(act, H)
        i, f, g, o = act.chunk(4, 1)
        torch.mul(i, g, out=c)
        c.addcmul_(f, c_prev)
        torch.tanh(c, out=tc)
        torch.mul(o, tc, out=h)
        cls._keep(mask, h_prev, c_prev, h, c)

    @classmethod
    def lstm_backward(cls, B, H, dh_next, d_out, mask, act, tc, c_prev, carry, dc, dg):
        e, m = cls._incoming(dh_next, d_out, mask, carry)
        i, f, g, o = act.chunk(4, 1)
        dcn = dc + e * o * (1 - tc * tc)
        if m is not None:
            dcn = torch.where(m, dcn, 0)
        torch.cat([dcn * g * i * (1 - i), dcn * c_prev * f * (1 - f), dcn * i * (1 - g * g),
                   e * tc * o * (1 - o)], 1, out=dg)
        dc.copy_(dcn * f if m is None else torch.where(m, dcn * f, dc))

    @staticmethod
    def _ln(x, eps):
        mean = x.mean(1, keepdim=True)
        rstd = torch.rsqrt((x - mean).pow(2).mean(1, keepdim=True) + eps)
        return (x - mean) * rstd, rstd

    @staticmethod
    def _ln_back(dy, gain, xhat, rstd):
        g = dy * gain
        return rstd * (g - g.mean(1, keepdim=True) - xhat * (g * xhat).mean(1, keepdim=True))

    @classmethod
    def lnlstm_forward(cls, B, H, eps_ih, eps_hh, eps_c, hw, xw, gain_ih, bias_ih, gain_hh,
                       gain_c, shift_c, h_prev, c_prev, mask, rstd_ih, nhw, rstd_hh, act, chat,
                       rstd_c, ty, h, c):
        n, r = cls._ln(xw, eps_ih)
        xw.copy_(n)  # LN_ih's x^ replaces x @ W_ih.T, as in the C kernel
        rstd_ih.copy_(r.squeeze(1))
        n, r = cls._ln(hw, eps_hh)
        nhw.copy_(n)
        rstd_hh.copy_(r.squeeze(1))
        torch.addcmul(torch.addcmul(bias_ih, gain_ih, xw), gain_hh, n, out=act)
        cls._activate(act, H)
        i, f, g, o = act.chunk(4, 1)
        torch.mul(i, g, out=c)
        c.addcmul_(f, c_prev)
        n, r = cls._ln(c, eps_c)
        chat.copy_(n)
        rstd_c.copy_(r.squeeze(1))
        torch.tanh(torch.addcmul(shift_c, gain_c, n), out=ty)
        torch.mul(o, ty, out=h)
        cls._keep(mask, h_prev, c_prev, h, c)

    @classmethod
    def lnlstm_backward(cls, B, H, dh_next, d_out, mask, gain_ih, gain_hh, gain_c, nxw, rstd_ih,
                        nhw, rstd_hh, act, chat, rstd_c, ty, c_prev, carry, dc, dxw, dhw, dy,
                        scratch, acc_ih, acc_b, acc_hh, acc_c, acc_shift):
        e, m = cls._incoming(dh_next, d_out, mask, carry)
        i, f, g, o = act.chunk(4, 1)
        torch.mul(e * o, 1 - ty * ty, out=dy)
        dcn = dc + cls._ln_back(dy, gain_c, chat, rstd_c.unsqueeze(1))
        if m is not None:
            dcn = torch.where(m, dcn, 0)
        da = torch.cat([dcn * g * i * (1 - i), dcn * c_prev * f * (1 - f),
                        dcn * i * (1 - g * g), e * ty * o * (1 - o)], 1)
        dhw.copy_(cls._ln_back(da, gain_hh, nhw, rstd_hh.unsqueeze(1)))
        dxw.copy_(cls._ln_back(da, gain_ih, nxw, rstd_ih.unsqueeze(1)))
        dc.copy_(dcn * f if m is None else torch.where(m, dcn * f, dc))
        if m is not None:  # padded rows: da is 0, dy and the saved rows may hold garbage
            for t in (dy, dhw, dxw):
                t.masked_fill_(~m, 0)
            nxw = nxw.masked_fill(~m, 0)
        acc_ih.addcmul_(da, nxw)
        acc_b.add_(da)
        acc_hh.addcmul_(da, nhw)
        acc_c.addcmul_(dy, chat)
        acc_shift.add_(dy)
