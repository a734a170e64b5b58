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

/// <summary>The registry of built-in processes, looked up by name with named parameters.</summary>
public static class BuiltinProcesses
{
    public static IReadOnlyList<BuiltinProcess> All { get; } =
    [
        new(
            "mess3",
            "Mess3: 3 states, 3 tokens; its beliefs form a Sierpinski-like fractal.",
            [new("x", 0.05, "probability of each state switch"), new("alpha", 0.85, "emission probability of the state's own token")],
            p => Mess3(p["x"], p["alpha"])),
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

    public static Process Mess3(double x = 0.05, double alpha = 0.85)
    {
        if (!(x >= 0 && x <= 0.5))
        {
            throw new BeliefLensInputException($"--param x: {x.ToString(CultureInfo.InvariantCulture)} is outside [0, 0.5] for mess3.");
        }

        if (!(alpha >= 0 && alpha <= 1))
        {
            throw new BeliefLensInputException($"--param alpha: {alpha.ToString(CultureInfo.InvariantCulture)} is outside [0, 1] for mess3.");
        }

        double other = (1 - alpha) / 2;
        var t = new double[3][][];
        for (int k = 0; k < 3; k++)
        {
            t[k] = new double[3][];
            for (int i = 0; i < 3; i++)
            {
                t[k][i] = new double[3];
                for (int j = 0; j < 3; j++)
                {
                    t[k][i][j] = (j == k ? alpha : other) * (i == j ? 1 - (2 * x) : x);
                }
            }
        }

        return Process.Create(
            $"mess3(x={x.ToString(CultureInfo.InvariantCulture)},alpha={alpha.ToString(CultureInfo.InvariantCulture)})",
            ProcessKind.Hmm,
            t,
            tokenNames: ["A", "B", "C"],
            stateNames: ["A", "B", "C"]);
    }
}
