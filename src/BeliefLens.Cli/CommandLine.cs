using System.Globalization;
using BeliefLens.Core;

namespace BeliefLens.Cli;

/// <summary>One CLI verb. Implementations are discovered by reflection, one file per command.</summary>
public interface ICommand
{
    string Name { get; }

    /// <summary>One line for the usage listing.</summary>
    string Summary { get; }

    /// <summary>Runs the command and returns the exit code. Throw <see cref="BeliefLensInputException"/> for bad input.</summary>
    int Run(CommandArguments args);
}

/// <summary>
/// Parsed arguments: positionals, <c>--name value</c> options (repeatable), and <c>--flag</c> switches.
/// Every option a command does not read is reported as unknown, so typos never pass silently.
/// </summary>
public sealed class CommandArguments
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);
    private readonly string _command;

    public CommandArguments(string command, IReadOnlyList<string> args, IReadOnlySet<string> flagNames)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(flagNames);
        _command = command;
        var positionals = new List<string>();
        for (int k = 0; k < args.Count; k++)
        {
            string arg = args[k];
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                string name = arg[2..];
                string? inlineValue = null;
                int eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    inlineValue = name[(eq + 1)..];
                    name = name[..eq];
                }

                if (flagNames.Contains(name))
                {
                    if (inlineValue is not null)
                    {
                        throw new BeliefLensInputException($"--{name}: is a switch and takes no value.");
                    }

                    _flags.Add(name);
                    continue;
                }

                string value = inlineValue ?? (k + 1 < args.Count
                    ? args[++k]
                    : throw new BeliefLensInputException($"--{name}: needs a value (e.g. --{name} VALUE)."));
                if (!_options.TryGetValue(name, out var list))
                {
                    _options[name] = list = [];
                }

                list.Add(value);
            }
            else
            {
                positionals.Add(arg);
            }
        }

        Positionals = positionals;
    }

    public IReadOnlyList<string> Positionals { get; }

    public bool Flag(string name)
    {
        _consumed.Add(name);
        return _flags.Contains(name);
    }

    public string? Option(string name)
    {
        _consumed.Add(name);
        if (!_options.TryGetValue(name, out var values))
        {
            return null;
        }

        if (values.Count > 1)
        {
            throw new BeliefLensInputException($"--{name}: given {values.Count} times; give it once.");
        }

        return values[0];
    }

    public IReadOnlyList<string> Options(string name)
    {
        _consumed.Add(name);
        return _options.TryGetValue(name, out var values) ? values : [];
    }

    public string Required(string name) =>
        Option(name) ?? throw new BeliefLensInputException($"--{name}: is required for '{_command}'.");

    public int? Int(string name, int? min = null, int? max = null)
    {
        string? text = Option(name);
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
        {
            throw new BeliefLensInputException($"--{name}: '{text}' is not a whole number.");
        }

        if (value < min || value > max)
        {
            throw new BeliefLensInputException($"--{name}: {value} is outside [{min?.ToString(CultureInfo.InvariantCulture) ?? "-∞"}, {max?.ToString(CultureInfo.InvariantCulture) ?? "∞"}].");
        }

        return value;
    }

    public long? Long(string name, long? min = null)
    {
        string? text = Option(name);
        if (text is null)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
        {
            throw new BeliefLensInputException($"--{name}: '{text}' is not a whole number.");
        }

        if (value < min)
        {
            throw new BeliefLensInputException($"--{name}: {value} is below the minimum {min}.");
        }

        return value;
    }

    public double? Double(string name)
    {
        string? text = Option(name);
        if (text is null)
        {
            return null;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
        {
            throw new BeliefLensInputException($"--{name}: '{text}' is not a finite number.");
        }

        return value;
    }

    /// <summary>Repeated <c>--param name=value</c> pairs as a dictionary.</summary>
    public Dictionary<string, double> Parameters(string optionName = "param")
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string pair in Options(optionName))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new BeliefLensInputException($"--{optionName}: '{pair}' must look like name=value.");
            }

            string key = pair[..eq];
            string text = pair[(eq + 1)..];
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                throw new BeliefLensInputException($"--{optionName} {key}: '{text}' is not a number.");
            }

            result[key] = value;
        }

        return result;
    }

    /// <summary>Call after reading every option: rejects options and switches the command does not know.</summary>
    public void RejectUnknown(int maxPositionals)
    {
        foreach (string name in _options.Keys.Concat(_flags))
        {
            if (!_consumed.Contains(name))
            {
                throw new BeliefLensInputException($"--{name}: unknown option for '{_command}'; run 'belieflens help' for usage.");
            }
        }

        if (Positionals.Count > maxPositionals)
        {
            throw new BeliefLensInputException($"'{_command}': unexpected argument '{Positionals[maxPositionals]}'.");
        }
    }
}
