using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using BeliefLens.Core;

namespace BeliefLens.Runs;

/// <summary>
/// The serializer of the run records: System.Text.Json source generation, snake_case, strict on reading (an unknown,
/// duplicated, missing or null-where-not-allowed field is refused) and one-line errors naming the file and JSON path.
/// </summary>
public static partial class RunJson
{
    /// <summary>Unsigned 64-bit values (seeds, RNG words) are written as strings so that every JSON reader keeps them exact.</summary>
    internal const JsonNumberHandling ExactInteger = JsonNumberHandling.WriteAsString | JsonNumberHandling.AllowReadingFromString;

    private static readonly JsonWriterOptions Indented = new() { Indented = true, NewLine = "\n" };
    private static readonly JsonWriterOptions Compact = new() { Indented = false };

    /// <summary>UTF-8 JSON of a record: indented with a final newline for whole files, one line (no newline) for JSONL.</summary>
    public static byte[] Serialize<T>(T value, bool indented)
        where T : class
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, indented ? Indented : Compact))
        {
            JsonSerializer.Serialize(writer, value, Info<T>());
        }

        if (indented)
        {
            buffer.WriteByte((byte)'\n');
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Reads a record; any problem becomes a one-line <see cref="BeliefLensInputException"/>
    /// <c>&lt;source&gt;: &lt;$.json.path&gt;: &lt;problem&gt;; &lt;fix&gt;</c>.
    /// </summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> utf8, string source)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, Info<T>())
                ?? throw new BeliefLensInputException($"{source}: $: is null; {Fix}");
        }
        catch (JsonException ex)
        {
            throw new BeliefLensInputException($"{source}: {Describe(ex)}; {Fix}");
        }
    }

    /// <summary>
    /// A record as the JSON tree its file holds (for comparing records field by field, or for code that reads JSON):
    /// parsed from the serialized text, so numbers convert as they do when read from a file.
    /// </summary>
    public static JsonObject ToNode<T>(T value)
        where T : class =>
        JsonNode.Parse(Serialize(value, indented: false))!.AsObject();

    /// <summary>
    /// The first field where two records differ, as "path is A there, B here" (<paramref name="actual"/> is "there"),
    /// or null when they are equal.
    /// </summary>
    public static string? FirstDifference<T>(T actual, T expected)
        where T : class => FirstDifference(ToNode(actual), ToNode(expected), string.Empty);

    private static string? FirstDifference(JsonNode? actual, JsonNode? expected, string path)
    {
        if (actual is JsonObject a && expected is JsonObject e)
        {
            foreach (string key in a.Select(kv => kv.Key).Union(e.Select(kv => kv.Key)))
            {
                string child = path.Length == 0 ? key : $"{path}.{key}";
                if (!a.ContainsKey(key) || !e.ContainsKey(key))
                {
                    return $"field {child} is only in {(a.ContainsKey(key) ? "the existing run" : "this one")}";
                }

                if (FirstDifference(a[key], e[key], child) is string difference)
                {
                    return difference;
                }
            }

            return null;
        }

        return JsonNode.DeepEquals(actual, expected)
            ? null
            : $"{(path.Length == 0 ? "config" : path)} is {actual?.ToJsonString() ?? "null"} there, {expected?.ToJsonString() ?? "null"} here";
    }

    private const string Fix = "belieflens did not write this; restore the file or start the run over";

    private static JsonTypeInfo<T> Info<T>() =>
        RunJsonContext.Default.GetTypeInfo(typeof(T)) as JsonTypeInfo<T>
        ?? throw new InvalidOperationException($"{typeof(T).Name} is not a run record.");

    /// <summary>"$.path: problem" from System.Text.Json's exception, without .NET type names.</summary>
    private static string Describe(JsonException ex)
    {
        string path = ex.Path ?? "$";
        string message = ex.Message;
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            return $"{path}: unknown field";
        }

        if (message.StartsWith("Duplicate", StringComparison.Ordinal))
        {
            return $"{path}: appears twice";
        }

        if (MissingFields().Match(message) is { Success: true } missing)
        {
            return $"{path}.{missing.Groups[1].Value}: missing";
        }

        if (message.Contains("doesn't allow null values", StringComparison.Ordinal) || message.Contains("non-nullable", StringComparison.Ordinal))
        {
            return $"{path}: must not be null";
        }

        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"{path}: has the wrong type";
        }

        return $"{path}: not valid JSON at line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1}";
    }

    [GeneratedRegex("missing required properties including: '([^']+)'")]
    private static partial Regex MissingFields();
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(RunConfig))]
[JsonSerializable(typeof(MetricsLine))]
[JsonSerializable(typeof(CheckpointSidecar))]
[JsonSerializable(typeof(RunSummary))]
[JsonSerializable(typeof(ProbeLine))]
[JsonSerializable(typeof(ProbeResult))]
[JsonSerializable(typeof(LockHolder))]
[JsonSerializable(typeof(QuantumProbeResult))]
[JsonSerializable(typeof(IReadOnlyList<UniversalityRow>))]
[JsonSerializable(typeof(AttentionResult))]
[JsonSerializable(typeof(TransformerLensConfig))]
internal sealed partial class RunJsonContext : JsonSerializerContext;
