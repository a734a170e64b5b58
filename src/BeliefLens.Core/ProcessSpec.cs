using System.Globalization;
using System.Text;
using System.Text.Json;

namespace BeliefLens.Core;

/// <summary>
/// Loads and writes custom processes as JSON:
/// <c>{"name", "type": "hmm"|"ghmm", "transitions": [V][S][S], "initial"?: [S], "tokens"?: [V], "states"?: [S]}</c>.
/// Every problem is a one-line <see cref="BeliefLensInputException"/> naming the file and field.
/// </summary>
public static class ProcessSpec
{
    private static readonly string[] KnownFields = ["name", "type", "transitions", "initial", "tokens", "states"];

    public static Process Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string label = Path.GetFileName(path);
        if (!File.Exists(path))
        {
            throw new BeliefLensInputException($"process: spec file '{path}' does not exist; give a built-in name or an existing .json file.");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BeliefLensInputException($"process: cannot read '{path}': {ex.Message}");
        }

        return Parse(text, label, Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>Parses spec text; <paramref name="label"/> prefixes error messages, <paramref name="defaultName"/> is used when "name" is absent.</summary>
    public static Process Parse(string json, string label = "spec", string defaultName = "custom")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            string where = ex.LineNumber is long line ? $" at line {line + 1}, position {(ex.BytePositionInLine ?? 0) + 1}" : string.Empty;
            throw new BeliefLensInputException($"{label}: malformed JSON{where}; fix the syntax (a JSON object with \"type\" and \"transitions\").");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error(label, "(root)", "must be a JSON object with \"type\" and \"transitions\"");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!KnownFields.Contains(property.Name))
                {
                    throw Error(label, property.Name, $"unknown field; valid fields are {string.Join(", ", KnownFields)}");
                }

                if (!seen.Add(property.Name))
                {
                    throw Error(label, property.Name, "appears twice; give it once");
                }
            }

            string name = defaultName;
            if (root.TryGetProperty("name", out var nameElement))
            {
                if (nameElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(nameElement.GetString()))
                {
                    throw Error(label, "name", "must be a non-empty string");
                }

                name = nameElement.GetString()!;
            }

            if (!root.TryGetProperty("type", out var typeElement))
            {
                throw Error(label, "type", "is required; use \"hmm\" or \"ghmm\"");
            }

            ProcessKind kind = typeElement.ValueKind == JsonValueKind.String
                ? typeElement.GetString() switch
                {
                    "hmm" => ProcessKind.Hmm,
                    "ghmm" => ProcessKind.Ghmm,
                    _ => throw Error(label, "type", $"'{typeElement.GetString()}' is not \"hmm\" or \"ghmm\""),
                }
                : throw Error(label, "type", "must be the string \"hmm\" or \"ghmm\"");

            if (!root.TryGetProperty("transitions", out var transitionsElement))
            {
                throw Error(label, "transitions", "is required: an array [V][S][S] of token matrices");
            }

            var transitions = ReadTransitions(label, transitionsElement);
            int s = transitions[0].Length;
            int v = transitions.Length;
            double[]? initial = root.TryGetProperty("initial", out var initialElement) ? ReadVector(label, "initial", initialElement, s) : null;
            string[]? tokens = root.TryGetProperty("tokens", out var tokensElement) ? ReadNames(label, "tokens", tokensElement, v) : null;
            string[]? states = root.TryGetProperty("states", out var statesElement) ? ReadNames(label, "states", statesElement, s) : null;
            try
            {
                return Process.Create(name, kind, transitions, initial, tokens, states);
            }
            catch (BeliefLensInputException ex)
            {
                throw new BeliefLensInputException($"{label}: {ex.Message}");
            }
        }
    }

    /// <summary>Writes a process as a spec that <see cref="Parse"/> reads back to the same matrices and initial belief.</summary>
    public static string ToJson(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        int s = process.StateCount;
        var builder = new StringBuilder();
        builder.Append("{\"name\":").Append(JsonSerializer.Serialize(process.Name));
        builder.Append(",\"type\":").Append(process.Kind == ProcessKind.Hmm ? "\"hmm\"" : "\"ghmm\"");
        builder.Append(",\"transitions\":[");
        for (int x = 0; x < process.VocabSize; x++)
        {
            builder.Append(x == 0 ? "[" : ",[");
            for (int i = 0; i < s; i++)
            {
                builder.Append(i == 0 ? "[" : ",[");
                for (int j = 0; j < s; j++)
                {
                    builder.Append(j == 0 ? string.Empty : ",").Append(process.T(x, i, j).ToString("R", CultureInfo.InvariantCulture));
                }

                builder.Append(']');
            }

            builder.Append(']');
        }

        builder.Append("],\"initial\":[").Append(string.Join(",", process.InitialBelief.Select(d => d.ToString("R", CultureInfo.InvariantCulture)))).Append(']');
        builder.Append(",\"tokens\":").Append(JsonSerializer.Serialize(process.TokenNames));
        builder.Append(",\"states\":").Append(JsonSerializer.Serialize(process.StateNames));
        builder.Append('}');
        return builder.ToString();
    }

    private static double[][][] ReadTransitions(string label, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() == 0)
        {
            throw Error(label, "transitions", "must be a non-empty array of token matrices, shape [V][S][S]");
        }

        int v = element.GetArrayLength();
        var result = new double[v][][];
        int s = -1;
        int x = 0;
        foreach (var matrix in element.EnumerateArray())
        {
            string field = $"transitions[{x}]";
            if (matrix.ValueKind != JsonValueKind.Array || matrix.GetArrayLength() == 0)
            {
                throw Error(label, field, "must be a non-empty S×S array (one row per state)");
            }

            if (s < 0)
            {
                s = matrix.GetArrayLength();
            }
            else if (matrix.GetArrayLength() != s)
            {
                throw Error(label, field, $"has {matrix.GetArrayLength()} rows but transitions[0] has {s}; every token matrix must be S×S");
            }

            result[x] = new double[s][];
            int i = 0;
            foreach (var row in matrix.EnumerateArray())
            {
                result[x][i] = ReadVector(label, $"{field}[{i}]", row, s);
                i++;
            }

            x++;
        }

        return result;
    }

    private static double[] ReadVector(string label, string field, JsonElement element, int length)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw Error(label, field, $"must be an array of {length} numbers");
        }

        if (element.GetArrayLength() != length)
        {
            throw Error(label, field, $"has {element.GetArrayLength()} entries but needs {length} (one per state)");
        }

        var result = new double[length];
        int k = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out double value) || !double.IsFinite(value))
            {
                throw Error(label, $"{field}[{k}]", $"'{item.GetRawText()}' is not a finite number");
            }

            result[k++] = value;
        }

        return result;
    }

    private static string[] ReadNames(string label, string field, JsonElement element, int length)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw Error(label, field, $"must be an array of {length} strings");
        }

        if (element.GetArrayLength() != length)
        {
            throw Error(label, field, $"has {element.GetArrayLength()} names but needs {length}");
        }

        var result = new string[length];
        int k = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw Error(label, $"{field}[{k}]", "must be a string");
            }

            result[k++] = item.GetString()!;
        }

        if (result.Distinct(StringComparer.Ordinal).Count() != length)
        {
            throw Error(label, field, "names must be unique");
        }

        return result;
    }

    private static BeliefLensInputException Error(string label, string field, string problem) => new($"{label}: {field}: {problem}.");
}

/// <summary>Turns a built-in name or a .json spec path into a process; every command resolves processes this way.</summary>
public static class ProcessResolver
{
    public static Process Resolve(string nameOrPath, IReadOnlyDictionary<string, double>? parameters = null)
    {
        if (string.IsNullOrWhiteSpace(nameOrPath))
        {
            throw new BeliefLensInputException("process: give a built-in name (see 'belieflens processes') or a path to a .json spec.");
        }

        bool looksLikeFile = nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            || nameOrPath.Contains('/') || nameOrPath.Contains('\\') || (!BuiltinProcesses.Exists(nameOrPath) && File.Exists(nameOrPath));
        if (!looksLikeFile)
        {
            return BuiltinProcesses.Create(nameOrPath, parameters);
        }

        if (parameters is { Count: > 0 })
        {
            throw new BeliefLensInputException($"--param {parameters.Keys.First()}: spec files take no parameters; edit the matrices in '{nameOrPath}' instead.");
        }

        return ProcessSpec.Load(nameOrPath);
    }
}
