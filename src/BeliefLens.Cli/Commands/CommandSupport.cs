using System.ComponentModel;
using System.Globalization;
using BeliefLens.Core;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// Base of every belieflens command. Unknown options are parsed leniently by Spectre (they land in
/// <see cref="CommandContext.Remaining"/>) so that this class can reject them with a one-line message naming the option.
/// </summary>
public abstract class BeliefLensCommand<TSettings> : Command<TSettings>
    where TSettings : CommandSettings
{
    /// <summary>How the command is typed after <c>belieflens</c>, for the usage hint (e.g. <c>bench train</c>).</summary>
    protected virtual string UsagePath(CommandContext context) => context.Name;

    public override ValidationResult Validate(CommandContext context, TSettings settings)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? unknown = context.Remaining.Parsed.Select(g => g.Key).FirstOrDefault() ?? context.Remaining.Raw.FirstOrDefault();
        return unknown is null
            ? ValidationResult.Success()
            : ValidationResult.Error($"{unknown}: unknown option for '{UsagePath(context)}'; run 'belieflens {UsagePath(context)} --help' for usage.");
    }
}

/// <summary>A value on the command line that could not be converted; the CLI names the option it belongs to.</summary>
public sealed class OptionValueException(string value, string problem) : FormatException($"'{value}' {problem}.")
{
    public string Value { get; } = value;
}

/// <summary>Whole numbers (int) in invariant culture; failures become a one-line error naming the option.</summary>
public sealed class IntValueConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

    public override object ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int result)
            ? result
            : throw new OptionValueException(value?.ToString() ?? string.Empty, "is not a whole number");
}

/// <summary>Whole numbers (long) in invariant culture.</summary>
public sealed class LongValueConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

    public override object ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long result)
            ? result
            : throw new OptionValueException(value?.ToString() ?? string.Empty, "is not a whole number");
}

/// <summary>Finite real numbers in invariant culture.</summary>
public sealed class DoubleValueConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

    public override object ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double result) && double.IsFinite(result)
            ? result
            : throw new OptionValueException(value?.ToString() ?? string.Empty, "is not a finite number");
}

/// <summary>Inclusive bounds on a numeric option; an unset (null) option passes.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class BoundsAttribute(double min, double max = double.PositiveInfinity) : ParameterValidationAttribute(errorMessage: null!)
{
    public double Min { get; } = min;

    public double Max { get; } = max;

    public override ValidationResult Validate(CommandParameterContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Value is null)
        {
            return ValidationResult.Success();
        }

        double value = Convert.ToDouble(context.Value, CultureInfo.InvariantCulture);
        if (value >= Min && value <= Max)
        {
            return ValidationResult.Success();
        }

        static string Show(double bound) => double.IsInfinity(bound) ? (bound > 0 ? "∞" : "-∞") : bound.ToString("R", CultureInfo.InvariantCulture);
        string name = context.Parameter is ICommandOption { LongNames.Count: > 0 } option ? "--" + option.LongNames[0] : context.Parameter.PropertyName;
        return ValidationResult.Error($"{name}: {Convert.ToString(context.Value, CultureInfo.InvariantCulture)} is outside [{Show(Min)}, {Show(Max)}].");
    }
}

/// <summary>Repeated <c>--param name=value</c> pairs.</summary>
internal static class ParameterPairs
{
    /// <summary>Parses the pairs, or returns the one-line problem.</summary>
    public static ValidationResult TryParse(IEnumerable<string>? pairs, out Dictionary<string, double> result, string optionName = "param")
    {
        result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string pair in pairs ?? [])
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return ValidationResult.Error($"--{optionName}: '{pair}' must look like name=value.");
            }

            string key = pair[..eq];
            string text = pair[(eq + 1)..];
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                return ValidationResult.Error($"--{optionName} {key}: '{text}' is not a number.");
            }

            result[key] = value;
        }

        return ValidationResult.Success();
    }
}

/// <summary>Settings of the commands that take a process and <c>--param k=v</c> overrides.</summary>
public abstract class ProcessSettings : CommandSettings
{
    [CommandOption("--param <NAME=VALUE>")]
    [Description("override a process parameter (repeatable), e.g. --param x=0.1; see 'belieflens processes'")]
    public string[] Param { get; init; } = [];

    /// <summary>The parsed <c>--param</c> pairs (filled by <see cref="Validate"/>).</summary>
    public Dictionary<string, double> Parameters { get; private set; } = new(StringComparer.Ordinal);

    public override ValidationResult Validate()
    {
        var result = ParameterPairs.TryParse(Param, out var parameters);
        Parameters = parameters;
        return result;
    }

    /// <summary>One line when a required value is missing, or success.</summary>
    protected static ValidationResult Require(object? value, string message) =>
        value is null ? ValidationResult.Error(message) : ValidationResult.Success();
}

/// <summary>
/// The library names the fields of its inputs (<c>training.learning_rate</c>, <c>device</c>); a command whose user typed
/// flags instead re-phrases such an error with the flag (<c>--lr</c>).
/// </summary>
internal static class FlagNames
{
    /// <summary>Runs <paramref name="build"/>; an input error that starts with one of the fields is re-phrased with its flag.</summary>
    public static T Rephrase<T>(Func<T> build, params (string Field, string Flag)[] names)
    {
        ArgumentNullException.ThrowIfNull(build);
        try
        {
            return build();
        }
        catch (BeliefLensInputException ex) when (names.Any(n => ex.Message.StartsWith(n.Field + ":", StringComparison.Ordinal)))
        {
            var (field, flag) = names.First(n => ex.Message.StartsWith(n.Field + ":", StringComparison.Ordinal));
            throw new BeliefLensInputException(flag + ex.Message[field.Length..]);
        }
    }
}

/// <summary>How commands print and write their JSON results: snake_case, indented, NaN and ∞ as named literals.</summary>
internal static class CommandJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
