using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Core;

namespace BeliefLens.Cli.Run;

/// <summary>Typed, field-naming reads from a JSON object section of an experiment file.</summary>
internal sealed class JsonFields(JsonObject obj, string section)
{
    public JsonObject Object => obj;

    public void RejectUnknown(IEnumerable<string> known)
    {
        var valid = known.ToHashSet(StringComparer.Ordinal);
        foreach (var (key, _) in obj)
        {
            if (!valid.Contains(key))
            {
                throw new BeliefLensInputException($"{Path(key)}: unknown field; valid fields are {string.Join(", ", valid.Order(StringComparer.Ordinal))}.");
            }
        }
    }

    public string Path(string key) => section.Length == 0 ? key : $"{section}.{key}";

    public string? String(string key)
    {
        var node = obj[key];
        if (node is null)
        {
            return null;
        }

        return node is JsonValue v && v.TryGetValue(out string? s) ? s : throw new BeliefLensInputException($"{Path(key)}: must be a string, not {node.ToJsonString()}.");
    }

    public double? Double(string key)
    {
        var node = obj[key];
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v)
        {
            // Parsed JSON and values built in code (int, long, double) all print as JSON numbers.
            if (v.GetValueKind() == JsonValueKind.Number
                && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d))
            {
                return d;
            }

            if (v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) && double.IsFinite(parsed))
            {
                return parsed;
            }
        }

        throw new BeliefLensInputException($"{Path(key)}: must be a finite number, not {node.ToJsonString()}.");
    }

    public long? Long(string key)
    {
        double? value = Double(key);
        if (value is null)
        {
            return null;
        }

        if (value != Math.Floor(value.Value) || Math.Abs(value.Value) > 9e15)
        {
            throw new BeliefLensInputException($"{Path(key)}: must be a whole number, not {value.Value.ToString(CultureInfo.InvariantCulture)}.");
        }

        return (long)value.Value;
    }

    public int? Int(string key)
    {
        long? value = Long(key);
        return value is null ? null : value is >= int.MinValue and <= int.MaxValue ? (int)value : throw new BeliefLensInputException($"{Path(key)}: {value} is too large.");
    }

    public ulong? ULong(string key)
    {
        var node = obj[key];
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v)
        {
            if (v.TryGetValue(out string? s) && ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong fromString))
            {
                return fromString;
            }

            if (v.GetValueKind() == JsonValueKind.Number && ulong.TryParse(v.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong number))
            {
                return number;
            }
        }

        throw new BeliefLensInputException($"{Path(key)}: must be a non-negative whole number, not {node.ToJsonString()}.");
    }

    public bool? Bool(string key)
    {
        var node = obj[key];
        if (node is null)
        {
            return null;
        }

        return node is JsonValue v && v.TryGetValue(out bool b) ? b : throw new BeliefLensInputException($"{Path(key)}: must be true or false, not {node.ToJsonString()}.");
    }

    public JsonObject? Section(string key)
    {
        var node = obj[key];
        if (node is null)
        {
            return null;
        }

        return node as JsonObject ?? throw new BeliefLensInputException($"{Path(key)}: must be a JSON object, not {node.ToJsonString()}.");
    }

    public IReadOnlyList<string>? Strings(string key)
    {
        var node = obj[key];
        if (node is null)
        {
            return null;
        }

        if (node is JsonArray array)
        {
            return array.Select((n, k) => n is JsonValue v && v.TryGetValue(out string? s) ? s : throw new BeliefLensInputException($"{Path(key)}[{k}]: must be a string.")).ToArray();
        }

        if (node is JsonValue single && single.TryGetValue(out string? one))
        {
            return one.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        throw new BeliefLensInputException($"{Path(key)}: must be a list of strings.");
    }

    public static JsonObject ParseObject(string json, string source)
    {
        try
        {
            return JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new BeliefLensInputException($"{source}: must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new BeliefLensInputException($"{source}: not valid JSON at line {(ex.LineNumber ?? 0) + 1}; fix the file.");
        }
    }
}
