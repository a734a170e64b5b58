# Independent reference for BeliefIfs (numpy only; run with Debian's /usr/bin/python3):
#   /usr/bin/python3 belief_ifs_dimension.py STEPS
# prints one JSON line per process: h_mu, the Lyapunov spectrum and d_LY of the belief IFS, computed with
# numpy's QR on explicit Jacobian matrices and numpy's own random generator (nothing shared with the C# code).
# 200,000 steps gave: mess3(0.05,0.85) h 0.79375 λ [-1.5259, -1.7577] d_LY 0.5202;
#                     mess3(0.15,0.6)  h 1.08887 λ [-0.7827, -0.8770] d_LY 1.3491;
#                     tom_quantum(1,√51) h 1.36725 λ [-0.0590, -0.1180] d_LY 2 (capped).
import json, sys
import numpy as np

def mess3(x, a):
    o = (1 - a) / 2
    T = np.zeros((3, 3, 3))
    for k in range(3):
        for i in range(3):
            for j in range(3):
                T[k, i, j] = (a if j == k else o) * ((1 - 2 * x) if i == j else x)
    return T, np.ones(3)

def tom_quantum(al, be):
    g2 = 1 / (4 * (al * al + be * be)); c = .25; m = (al * al - be * be) * g2; o = 2 * al * be * g2
    T = np.zeros((4, 3, 3))
    for sg in range(2):
        s = o if sg == 0 else -o
        a = T[sg]; a[0, 0] = c; a[1, 1] = m; a[2, 2] = c; a[0, 2] = s; a[2, 0] = s
        b = T[2 + sg]; b[0, 0] = c; b[1, 1] = c; b[2, 2] = m; b[0, 1] = s; b[1, 0] = s
    r = max(abs(np.linalg.eigvals(T.sum(0)))); T /= r
    w, V = np.linalg.eig(T.sum(0)); tau = np.real(V[:, np.argmin(abs(w - 1))]); tau *= 3 / tau.sum()
    return T, tau

def stationary(T, tau):
    w, V = np.linalg.eig(T.sum(0).T); p = np.real(V[:, np.argmin(abs(w - 1))]); return p / (p @ tau)

def chaos_game(T, tau, n, burn=1000, seed=1):
    rng = np.random.default_rng(seed); S = T.shape[1]
    eta = stationary(T, tau)
    Q = np.linalg.qr(np.column_stack([tau] + [np.eye(S)[i] for i in range(S - 1)]))[0][:, 1:]  # columns span τ^⊥
    lam = np.zeros(S - 1); h = 0.0
    for t in range(n + burn):
        p = np.array([eta @ T[x] @ tau for x in range(len(T))]); p = np.where(p < 1e-12, 0, p); p /= p.sum()
        x = rng.choice(len(T), p=p)
        u = eta @ T[x]; px = u @ tau
        V = Q.T @ T[x]                                    # rows: tangent vectors times T[x]
        J = V / px - np.outer(V @ tau, u) / px ** 2       # Df_x applied to each tangent row
        Q, R = np.linalg.qr(J.T)
        eta = u / px
        if t >= burn:
            lam += np.log(abs(np.diag(R))); h -= np.sum(p[p > 0] * np.log(p[p > 0]))
    lam = np.sort(lam / n)[::-1]; h /= n
    partial, d = h, float(S - 1)
    for i in range(S - 1):
        if partial + lam[i] < 0:
            d = i + partial / abs(lam[i]); break
        partial += lam[i]
    return h, lam, min(d, S - 1)

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
for name, (T, tau) in [("mess3(0.05,0.85)", mess3(.05, .85)), ("mess3(0.15,0.6)", mess3(.15, .6)), ("tom_quantum(1,sqrt51)", tom_quantum(1, np.sqrt(51)))]:
    h, lam, d = chaos_game(T, tau, n)
    print(json.dumps({"process": name, "h_mu": h, "lyapunov": list(lam), "d_ly": d}))
