using System.Globalization;

namespace BeliefLens.Core;

/// <summary>A named parameter of a built-in process with its default.</summary>
public sealed record ProcessParameter(string Name, double Default, string Description);

/// <summary>A built-in process: its name, parameters with defaults, and a factory.</summary>
public sealed record BuiltinProcess(
    string Name,
    string Description,
    IReadOnlyList<ProcessParameter> Parameters,
    Func<IReadOnlyDictionary<string, double>, Process> Factory);

/// <summary>
/// The registry of built-in processes, looked up by name with named parameters.
/// Definitions follow the published matrices (Shai et al. 2024; Marzen &amp; Crutchfield; Riechers et al.,
/// "quantum and post-quantum processes"), written here from the math.
/// </summary>
public static class BuiltinProcesses
{
    public static IReadOnlyList<BuiltinProcess> All { get; } =
    [
        new(
            "mess3",
            "Mess3: 3 states, 3 tokens; its beliefs form a Sierpinski-like fractal.",
            [new("x", 0.05, "probability of each state switch"), new("alpha", 0.85, "emission probability of the state's own token")],
            p => Mess3(p["x"], p["alpha"])),
        new(
            "rrxor",
            "Random-random-XOR: two random bits then their XOR; states S,0,1,T,F.",
            [new("p1", 0.5, "P(first random bit = 0)"), new("p2", 0.5, "P(second random bit = 0)")],
            p => Rrxor(p["p1"], p["p2"])),
        new(
            "z1r",
            "Zero-one-random: 0, 1, then a random bit; states 0,1,R.",
            [new("p", 0.5, "P(emit 0 from R)")],
            p => Z1r(p["p"])),
        new(
            "even",
            "Even process: 1s come in even-length blocks.",
            [new("p", 0.5, "P(emit 1 from A), which starts a pair of 1s")],
            p => Even(p["p"])),
        new(
            "golden_mean",
            "Golden mean process: no two consecutive 1s (the golden mean shift).",
            [new("p", 0.5, "P(emit 1 from A)")],
            p => GoldenMean(p["p"])),
        new(
            "coin",
            "Biased coin: i.i.d. bits, 1 state.",
            [new("p", 0.5, "P(emit 0)")],
            p => Coin(p["p"])),
        new(
            "no_consecutive_ones",
            "No two consecutive 1s.",
            [new("p", 0.5, "P(emit 1 from A)")],
            p => NoConsecutiveOnes(p["p"])),
        new(
            "no_consecutive_zeros",
            "No two consecutive 0s: the golden mean process with 0 and 1 swapped.",
            [new("p", 0.5, "P(emit 0 from A)")],
            p => NoConsecutiveZeros(p["p"])),
        new(
            "sns",
            "Simple nonunifilar source (Marzen & Crutchfield): infinitely many causal states.",
            [new("p", 0.5, "P(A emits 0 and moves to B)"), new("q", 0.5, "P(B emits 1 and moves to A)")],
            p => Sns(p["p"], p["q"])),
        new(
            "days_of_week",
            "Days of the week: 7 states, 11 tokens (7 days, Tmrw, Yest, Wknd, Wkdy).",
            [],
            _ => DaysOfWeek()),
        new(
            "matching_parens",
            "Matching parentheses: state = nesting depth 0..depth; token 0 '(' and 1 ')'.",
            [new("depth", 3, "maximum nesting depth (whole number ≥ 1)"), new("p", 0.5, "P('(') at depths 1..depth-1")],
            p => MatchingParens(p["depth"], p["p"])),
        new(
            "mr_name",
            "Mr. Dursley/Wonka process: tokens Mr., Something, Blah, name; state = last token.",
            [new("p", 0.4, "P(switch between Something and Blah)"), new("q", 0.25, "P(say 'Mr.')")],
            p => MrName(p["p"], p["q"])),
        new(
            "leaky_rrxor",
            "RRXOR mixed with uniform noise: (1-epsilon)·T + epsilon/(V·S) on every entry.",
            [new("p1", 0.5, "P(first random bit = 0)"), new("p2", 0.5, "P(second random bit = 0)"), new("epsilon", 0.1, "leak weight in [0,1]")],
            p => LeakyRrxor(p["p1"], p["p2"], p["epsilon"])),
        new(
            "tom_quantum",
            "GHMM: qubit measured in random Pauli bases (the Bloch walk); 3 states, 4 tokens.",
            [new("alpha", 1, "rotation parameter α"), new("beta", Math.Sqrt(51), "rotation parameter β")],
            p => TomQuantum(p["alpha"], p["beta"])),
        new(
            "post_quantum",
            "GHMM: the Moon process, post-quantum; 3 states, 3 tokens.",
            [new("alpha", Math.E, "α > 1"), new("beta", 0.5, "0 < β < 1")],
            p => PostQuantum(p["alpha"], p["beta"])),
        new(
            "fanizza",
            "GHMM: Fanizza et al.'s process with no finite HMM; 4 states, 2 tokens.",
            [new("alpha", 2000, "rotation angle α (radians)"), new("lambda", 0.49, "contraction 0 < λ < 1")],
            p => Fanizza(p["alpha"], p["lambda"])),
        new(
            "mess3_mixture",
            "Non-ergodic mixture of three Mess3 processes (9 states, 3 tokens): a sequence comes from one component, chosen by weight.",
            [
                new("x1", 0.05, "component 1's x"), new("alpha1", 0.85, "component 1's alpha"),
                new("x2", 0.15, "component 2's x"), new("alpha2", 0.6, "component 2's alpha"),
                new("x3", 0.02, "component 3's x"), new("alpha3", 0.5, "component 3's alpha"),
                new("w1", 1, "component 1's weight (weights are normalised)"), new("w2", 1, "component 2's weight"), new("w3", 1, "component 3's weight"),
            ],
            p => ProcessBuilders.Mixture(
                [(Mess3(p["x1"], p["alpha1"]), p["w1"]), (Mess3(p["x2"], p["alpha2"]), p["w2"]), (Mess3(p["x3"], p["alpha3"]), p["w3"])])),
        new(
            "coins",
            "Non-ergodic mixture of n biased coins, P(0) = (i+1)/(n+1) for coin i, uniform weights (2 tokens, n states): in-context learning of a coin's bias.",
            [new("n", 2, "number of coins (whole number ≥ 1)")],
            p => Coins(p["n"])),
        new(
            "dursley_wonka",
            "Two mr_name(p, q) components with their own name token (vocab maps [0,1,2,3] and [0,1,2,4]), weights ½, BOS token 5.",
            [new("p", 0.4, "mr_name's P(switch between Something and Blah)"), new("q", 0.25, "mr_name's P(say 'Mr.')")],
            p => DursleyWonka(p["p"], p["q"])),
        new(
            "factored_mess3",
            "Independent product of n Mess3(x, alpha) factors (3^n joint tokens and states); noise replaces a joint token by a uniform one.",
            [new("n", 3, "number of factors (whole number 1..6)"), new("x", 0.15, "each factor's x"), new("alpha", 0.6, "each factor's alpha"), new("noise", 0, "ε in [0,1]")],
            p => FactoredMess3(p["n"], p["x"], p["alpha"], p["noise"])),
        new(
            "factored_paper",
            "Independent product of 3 × Mess3(0.15, 0.6) and 2 × tom_quantum(1, 3): 432 joint tokens, 243 joint states (a GHMM).",
            [new("noise", 0, "ε in [0,1]")],
            p => FactoredPaper(p["noise"])),
    ];

    public static bool Exists(string name) => All.Any(b => b.Name == name);

    /// <summary>Creates a built-in process; unknown names or parameters give a one-line error listing the valid ones.</summary>
    public static Process Create(string name, IReadOnlyDictionary<string, double>? parameters = null)
    {
        var builtin = All.FirstOrDefault(b => b.Name == name)
            ?? throw new BeliefLensInputException(
                $"process: unknown process '{name}'; valid built-ins are {string.Join(", ", All.Select(b => b.Name))} (or a path to a .json spec).");
        var resolved = builtin.Parameters.ToDictionary(p => p.Name, p => p.Default);
        foreach (var (key, value) in parameters ?? new Dictionary<string, double>())
        {
            if (!resolved.ContainsKey(key))
            {
                string valid = builtin.Parameters.Count == 0 ? "it takes none" : "valid: " + string.Join(", ", builtin.Parameters.Select(p => p.Name));
                throw new BeliefLensInputException($"--param {key}: '{name}' has no parameter '{key}'; {valid}.");
            }

            if (!double.IsFinite(value))
            {
                throw new BeliefLensInputException($"--param {key}: value must be a finite number.");
            }

            resolved[key] = value;
        }

        return builtin.Factory(resolved);
    }

    /// <summary>Mixture of n coins with P(0) = (i+1)/(n+1), uniform weights.</summary>
    public static Process Coins(double n = 2)
    {
        int count = WholeNumber("coins", "n", n, 1, 1000);
        var components = Enumerable.Range(0, count).Select(i => new MixtureComponent(Coin((i + 1.0) / (count + 1)), 1.0 / count)).ToArray();
        return ProcessBuilders.Mixture(components, bos: false, $"coins(n={count})");
    }

    /// <summary>Mr. Dursley and Mr. Wonka: two mr_name components that share every token but the name, with BOS.</summary>
    public static Process DursleyWonka(double p = 0.4, double q = 0.25) => ProcessBuilders.Mixture(
        [new MixtureComponent(MrName(p, q), 0.5, [0, 1, 2, 3]), new MixtureComponent(MrName(p, q), 0.5, [0, 1, 2, 4])],
        bos: true,
        $"dursley_wonka(p={F(p)},q={F(q)})");

    /// <summary>n independent Mess3 factors, optionally with joint-token noise.</summary>
    public static Process FactoredMess3(double n = 3, double x = 0.15, double alpha = 0.6, double noise = 0)
    {
        int count = WholeNumber("factored_mess3", "n", n, 1, 6);
        RequireRange("factored_mess3", "noise", noise, 0, 1);
        var factors = Enumerable.Range(0, count).Select(_ => new ProductFactor(Mess3(x, alpha))).ToArray();
        return ProcessBuilders.Product(factors, noise: noise, name: $"factored_mess3(n={count},x={F(x)},alpha={F(alpha)},noise={F(noise)})");
    }

    /// <summary>The factored-representations paper's product: 3 × Mess3(0.15, 0.6) and 2 × tom_quantum(1, 3).</summary>
    public static Process FactoredPaper(double noise = 0)
    {
        RequireRange("factored_paper", "noise", noise, 0, 1);
        ProductFactor[] factors =
        [
            new(Mess3(0.15, 0.6)), new(Mess3(0.15, 0.6)), new(Mess3(0.15, 0.6)), new(TomQuantum(1, 3)), new(TomQuantum(1, 3)),
        ];
        return ProcessBuilders.Product(factors, noise: noise, name: $"factored_paper(noise={F(noise)})");
    }

    private static int WholeNumber(string process, string parameter, double value, int min, int max)
    {
        if (value != Math.Floor(value) || value < min || value > max)
        {
            throw new BeliefLensInputException($"--param {parameter}: {F(value)} must be a whole number in {min}..{max} for {process}.");
        }

        return (int)value;
    }

    public static Process Mess3(double x = 0.05, double alpha = 0.85)
    {
        RequireRange("mess3", "x", x, 0, 0.5);
        RequireRange("mess3", "alpha", alpha, 0, 1);
        double other = (1 - alpha) / 2;
        var t = Zeros(3, 3);
        for (int k = 0; k < 3; k++)
        {
            for (int i = 0; i < 3; i++)
            {
                for (int j = 0; j < 3; j++)
                {
                    t[k][i][j] = (j == k ? alpha : other) * (i == j ? 1 - (2 * x) : x);
                }
            }
        }

        return Process.Create($"mess3(x={F(x)},alpha={F(alpha)})", ProcessKind.Hmm, t, tokenNames: ["A", "B", "C"], stateNames: ["A", "B", "C"]);
    }

    /// <summary>States S,0,1,T,F: S emits a random bit, the bit state emits another, T/F emit their XOR (1 for T, 0 for F).</summary>
    public static Process Rrxor(double p1 = 0.5, double p2 = 0.5) =>
        Process.Create($"rrxor(p1={F(p1)},p2={F(p2)})", ProcessKind.Hmm, RrxorMatrices("rrxor", p1, p2), stateNames: ["S", "0", "1", "T", "F"]);

    public static Process LeakyRrxor(double p1 = 0.5, double p2 = 0.5, double epsilon = 0.1)
    {
        RequireRange("leaky_rrxor", "epsilon", epsilon, 0, 1);
        var t = RrxorMatrices("leaky_rrxor", p1, p2);
        double leak = epsilon / (2 * 5);
        foreach (var matrix in t)
        {
            foreach (var row in matrix)
            {
                for (int j = 0; j < row.Length; j++)
                {
                    row[j] = ((1 - epsilon) * row[j]) + leak;
                }
            }
        }

        return Process.Create($"leaky_rrxor(p1={F(p1)},p2={F(p2)},epsilon={F(epsilon)})", ProcessKind.Hmm, t, stateNames: ["S", "0", "1", "T", "F"]);
    }

    /// <summary>States 0,1,R: 0 emits 0 → 1, 1 emits 1 → R, R emits 0 (prob p) or 1 → 0.</summary>
    public static Process Z1r(double p = 0.5)
    {
        RequireRange("z1r", "p", p, 0, 1);
        var t = Zeros(2, 3);
        t[0][0][1] = 1;
        t[1][1][2] = 1;
        t[0][2][0] = p;
        t[1][2][0] = 1 - p;
        return Process.Create($"z1r(p={F(p)})", ProcessKind.Hmm, t, stateNames: ["0", "1", "R"]);
    }

    /// <summary>States A,B: A emits 0 → A (1−p) or 1 → B (p); B emits 1 → A.</summary>
    public static Process Even(double p = 0.5)
    {
        RequireRange("even", "p", p, 0, 1);
        var t = Zeros(2, 2);
        t[0][0][0] = 1 - p;
        t[1][0][1] = p;
        t[1][1][0] = 1;
        return Process.Create($"even(p={F(p)})", ProcessKind.Hmm, t, stateNames: ["A", "B"]);
    }

    /// <summary>
    /// The golden mean process (golden mean shift: the word <c>11</c> never occurs). States A,B: A emits 0 → A (1−p)
    /// or 1 → B (p); B emits 0 → A. At p = ½ its entropy rate is (2/3)·ln 2 and its support grows as the golden ratio.
    /// </summary>
    public static Process GoldenMean(double p = 0.5) => NoRepeat("golden_mean", forbidden: 1, p);

    /// <summary>The golden mean process under the name that says what it forbids: no two consecutive 1s.</summary>
    public static Process NoConsecutiveOnes(double p = 0.5) => NoRepeat("no_consecutive_ones", forbidden: 1, p);

    /// <summary>The golden mean process with 0 and 1 swapped: A emits 1 → A (1−p) or 0 → B (p); B emits 1 → A.</summary>
    public static Process NoConsecutiveZeros(double p = 0.5) => NoRepeat("no_consecutive_zeros", forbidden: 0, p);

    // States A,B: A emits the allowed token → A (1−p) or the forbidden one → B (p); B must emit the allowed token → A.
    private static Process NoRepeat(string name, int forbidden, double p)
    {
        RequireRange(name, "p", p, 0, 1);
        int allowed = 1 - forbidden;
        var t = Zeros(2, 2);
        t[allowed][0][0] = 1 - p;
        t[forbidden][0][1] = p;
        t[allowed][1][0] = 1;
        return Process.Create($"{name}(p={F(p)})", ProcessKind.Hmm, t, stateNames: ["A", "B"]);
    }

    public static Process Coin(double p = 0.5)
    {
        RequireRange("coin", "p", p, 0, 1);
        var t = Zeros(2, 1);
        t[0][0][0] = p;
        t[1][0][0] = 1 - p;
        return Process.Create($"coin(p={F(p)})", ProcessKind.Hmm, t, stateNames: ["A"]);
    }

    /// <summary>States A,B: A emits 0 → A (1−p) or 0 → B (p); B emits 0 → B (1−q) or 1 → A (q).</summary>
    public static Process Sns(double p = 0.5, double q = 0.5)
    {
        RequireRange("sns", "p", p, 0, 1);
        RequireRange("sns", "q", q, 0, 1);
        var t = Zeros(2, 2);
        t[0][0][0] = 1 - p;
        t[0][0][1] = p;
        t[0][1][1] = 1 - q;
        t[1][1][0] = q;
        return Process.Create($"sns(p={F(p)},q={F(q)})", ProcessKind.Hmm, t, stateNames: ["A", "B"]);
    }

    /// <summary>
    /// State = today (M..Su). Unnormalised weights from every day: each day token 1 (moving to that day), except
    /// tomorrow's name, weight 5; Tmrw 1 (→ tomorrow); Yest 1 (→ yesterday); Wkdy 1 split over the 5 weekdays;
    /// Wknd 1 split over the weekend. Each state's weights total 15.
    /// </summary>
    public static Process DaysOfWeek()
    {
        string[] days = ["M", "Tu", "W", "Th", "F", "Sa", "Su"];
        const int tmrw = 7, yest = 8, wknd = 9, wkdy = 10;
        var t = Zeros(11, 7);
        for (int i = 0; i < 7; i++)
        {
            int next = (i + 1) % 7;
            int previous = (i + 6) % 7;
            for (int d = 0; d < 7; d++)
            {
                t[d][i][d] = (d == next ? 5.0 : 1.0) / 15;
            }

            t[tmrw][i][next] = 1.0 / 15;
            t[yest][i][previous] = 1.0 / 15;
            for (int d = 0; d < 5; d++)
            {
                t[wkdy][i][d] = 1.0 / 75;
            }

            t[wknd][i][5] = 1.0 / 30;
            t[wknd][i][6] = 1.0 / 30;
        }

        return Process.Create("days_of_week", ProcessKind.Hmm, t, tokenNames: [.. days, "Tmrw", "Yest", "Wknd", "Wkdy"], stateNames: days);
    }

    /// <summary>State k = nesting depth 0..D. Depth 0 always opens, depth D always closes, others open with probability p.</summary>
    public static Process MatchingParens(double depth = 3, double p = 0.5)
    {
        if (!(depth >= 1 && depth <= 1000 && depth == Math.Floor(depth)))
        {
            throw new BeliefLensInputException($"--param depth: {F(depth)} must be a whole number in [1, 1000] for matching_parens.");
        }

        RequireRange("matching_parens", "p", p, 0, 1, openLow: true);
        int levels = (int)depth + 1;
        var t = Zeros(2, levels);
        for (int k = 0; k < levels; k++)
        {
            double open = k == 0 ? 1 : k == levels - 1 ? 0 : p;
            if (open > 0)
            {
                t[0][k][k + 1] = open;
            }

            if (open < 1)
            {
                t[1][k][k - 1] = 1 - open;
            }
        }

        return Process.Create(
            $"matching_parens(depth={F(depth)},p={F(p)})",
            ProcessKind.Hmm,
            t,
            tokenNames: ["(", ")"],
            stateNames: Enumerable.Range(0, levels).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray());
    }

    /// <summary>
    /// Tokens and states Mr.(0), Something(1), Blah(2), name(3); the state is the last token. Mr. → name;
    /// name → Something or Blah (½ each); Something/Blah → Mr. (q), the other filler (p), or itself (1−p−q).
    /// </summary>
    public static Process MrName(double p = 0.4, double q = 0.25)
    {
        RequireRange("mr_name", "p", p, 0, 1);
        RequireRange("mr_name", "q", q, 0, 1);
        if (p + q > 1)
        {
            throw new BeliefLensInputException($"--param p: p + q = {F(p + q)} exceeds 1 for mr_name; lower p or q.");
        }

        const int mr = 0, something = 1, blah = 2, name = 3;
        var t = Zeros(4, 4);
        t[name][mr][name] = 1;
        t[something][name][something] = 0.5;
        t[blah][name][blah] = 0.5;
        foreach (var (self, other) in new[] { (something, blah), (blah, something) })
        {
            t[mr][self][mr] = q;
            t[other][self][other] = p;
            t[self][self][self] = 1 - p - q;
        }

        string[] names = ["Mr.", "Something", "Blah", "name"];
        return Process.Create($"mr_name(p={F(p)},q={F(q)})", ProcessKind.Hmm, t, tokenNames: names, stateNames: names);
    }

    /// <summary>
    /// The qubit Bloch walk. With γ² = 1/(4(α²+β²)), c = ¼, m = (α²−β²)γ², o = 2αβγ²: tokens 0/1 couple states 0 and 2
    /// with ±o, tokens 2/3 couple states 0 and 1 with ±o; the remaining diagonal is c on the coupled pair and m elsewhere.
    /// </summary>
    public static Process TomQuantum(double alpha = 1, double beta = 7.14142842854285)
    {
        if (alpha == 0 && beta == 0)
        {
            throw new BeliefLensInputException("--param alpha: alpha and beta cannot both be 0 for tom_quantum.");
        }

        double gamma2 = 1 / (4 * ((alpha * alpha) + (beta * beta)));
        double c = 0.25;
        double m = ((alpha * alpha) - (beta * beta)) * gamma2;
        double o = 2 * alpha * beta * gamma2;
        var t = Zeros(4, 3);
        for (int sign = 0; sign < 2; sign++)
        {
            double s = sign == 0 ? o : -o;
            var a = t[sign];
            a[0][0] = c;
            a[1][1] = m;
            a[2][2] = c;
            a[0][2] = s;
            a[2][0] = s;
            var b = t[2 + sign];
            b[0][0] = c;
            b[1][1] = c;
            b[2][2] = m;
            b[0][1] = s;
            b[1][0] = s;
        }

        return Process.Create($"tom_quantum(alpha={F(alpha)},beta={F(beta)})", ProcessKind.Ghmm, t);
    }

    /// <summary>
    /// The Moon process: T0 = m0 μ0ᵀ with m0 = (1,1,0), μ0 = (1,−1,−1); T1, T2 = [[v,0,0],[0,1,0],[0,ln v,1]] for v = α, β.
    /// Process.Create rescales to spectral radius 1.
    /// </summary>
    public static Process PostQuantum(double alpha = Math.E, double beta = 0.5)
    {
        if (!(alpha > 1))
        {
            throw new BeliefLensInputException($"--param alpha: {F(alpha)} must exceed 1 for post_quantum.");
        }

        RequireRange("post_quantum", "beta", beta, 0, 1, openLow: true, openHigh: true);
        double[] m0 = [1, 1, 0];
        double[] mu0 = [1, -1, -1];
        var t = Zeros(3, 3);
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                t[0][i][j] = m0[i] * mu0[j];
            }
        }

        foreach (var (token, v) in new[] { (1, alpha), (2, beta) })
        {
            t[token][0][0] = v;
            t[token][1][1] = 1;
            t[token][2][1] = Math.Log(v);
            t[token][2][2] = 1;
        }

        return Process.Create($"post_quantum(alpha={F(alpha)},beta={F(beta)})", ProcessKind.Ghmm, t);
    }

    /// <summary>
    /// Fanizza's process: token 0 resets, D0 = w π0ᵀ; token 1 rotates and contracts, D1 = λ·diag(0, 1, R(α)).
    /// </summary>
    public static Process Fanizza(double alpha = 2000, double lambda = 0.49)
    {
        RequireRange("fanizza", "lambda", lambda, 0, 1, openLow: true, openHigh: true);
        double cos = Math.Cos(alpha);
        double sin = Math.Sin(alpha);
        double denominator = 1 - (2 * lambda * cos) + (lambda * lambda);
        double a = (1 - (lambda * cos) + (lambda * sin)) / denominator;
        double b = (1 - (lambda * cos) - (lambda * sin)) / denominator;
        double[] pi0 = [1 - (((2 / (1 - lambda)) - a - b) / 4), 1 / (2 * (1 - lambda)), -a / 4, -b / 4];
        double[] w = [1, 1 - lambda, 1 + (lambda * (sin - cos)), 1 - (lambda * (sin + cos))];
        var t = Zeros(2, 4);
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                t[0][i][j] = w[i] * pi0[j];
            }
        }

        t[1][1][1] = lambda;
        t[1][2][2] = lambda * cos;
        t[1][2][3] = -lambda * sin;
        t[1][3][2] = lambda * sin;
        t[1][3][3] = lambda * cos;
        return Process.Create($"fanizza(alpha={F(alpha)},lambda={F(lambda)})", ProcessKind.Ghmm, t);
    }

    private static double[][][] RrxorMatrices(string process, double p1, double p2)
    {
        RequireRange(process, "p1", p1, 0, 1);
        RequireRange(process, "p2", p2, 0, 1);
        const int s = 0, zero = 1, one = 2, tState = 3, fState = 4;
        var t = Zeros(2, 5);
        t[0][s][zero] = p1;
        t[1][s][one] = 1 - p1;
        t[0][zero][fState] = p2;
        t[1][zero][tState] = 1 - p2;
        t[0][one][tState] = p2;
        t[1][one][fState] = 1 - p2;
        t[1][tState][s] = 1;
        t[0][fState][s] = 1;
        return t;
    }

    private static double[][][] Zeros(int vocab, int states) => ProcessBuilders.Zeros(vocab, states);

    private static void RequireRange(string process, string name, double value, double low, double high, bool openLow = false, bool openHigh = false)
    {
        bool ok = (openLow ? value > low : value >= low) && (openHigh ? value < high : value <= high);
        if (!ok)
        {
            string range = $"{(openLow ? "(" : "[")}{F(low)}, {F(high)}{(openHigh ? ")" : "]")}";
            throw new BeliefLensInputException($"--param {name}: {F(value)} is outside {range} for {process}.");
        }
    }

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
