using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Cli.Run;
using BeliefLens.Core;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace BeliefLens.Cli.Sweeps;

/// <summary>
/// A sweep spec (YAML or JSON): <c>base</c> (a preset or an experiment file), <c>axes</c> (a map from a <c>--set</c>
/// path to a list of values, expanded as a Cartesian product) and/or <c>runs</c> (a list of override maps). With
/// both, every run is combined with every point of the axes grid.
/// </summary>
public sealed record SweepSpec(string Base, JsonObject BaseExperiment, IReadOnlyList<(string Path, IReadOnlyList<JsonNode?> Values)> Axes, IReadOnlyList<IReadOnlyList<(string Path, JsonNode? Value)>>? Runs)
{
    public static readonly IReadOnlyList<string> Keys = ["base", "axes", "runs"];

    /// <summary>How many jobs the spec expands to, without expanding it (so a huge grid is refused cheaply).</summary>
    public long JobCount
    {
        get
        {
            long count = Runs?.Count ?? 1;
            foreach (var (_, values) in Axes)
            {
                count = checked(count * values.Count);
            }

            return Axes.Count == 0 && Runs is null ? 0 : count;
        }
    }

    /// <summary>Each job's overrides in a fixed order: the run's overrides first, then the axes in spec order (last axis fastest).</summary>
    public IEnumerable<IReadOnlyList<(string Path, JsonNode? Value)>> Expand()
    {
        var runs = Runs ?? [[]];
        foreach (var run in runs)
        {
            foreach (var point in Product(0))
            {
                yield return [.. run, .. point];
            }
        }
    }

    private IEnumerable<List<(string, JsonNode?)>> Product(int axis)
    {
        if (axis == Axes.Count)
        {
            yield return [];
            yield break;
        }

        var (path, values) = Axes[axis];
        foreach (var value in values)
        {
            foreach (var rest in Product(axis + 1))
            {
                yield return [(path, value), .. rest];
            }
        }
    }

    public static SweepSpec Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new BeliefLensInputException($"SPEC: file '{path}' does not exist.");
        }

        string text = File.ReadAllText(path);
        bool json = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        JsonNode? root = json ? ParseJson(text, path) : ParseYaml(text, path);
        if (root is not JsonObject obj)
        {
            throw new BeliefLensInputException($"{path}: a sweep spec is a map with keys base, axes and/or runs.");
        }

        return FromJson(obj, Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public static SweepSpec FromJson(JsonObject obj, string specDirectory)
    {
        foreach (var (key, _) in obj)
        {
            if (!Keys.Contains(key, StringComparer.Ordinal))
            {
                throw new BeliefLensInputException($"spec.{key}: unknown key; valid keys are {string.Join(", ", Keys)}.");
            }
        }

        if (obj["base"] is not JsonValue baseValue || baseValue.GetValueKind() != JsonValueKind.String)
        {
            throw new BeliefLensInputException($"spec.base: name a preset ({string.Join(", ", Presets.Names)}) or an experiment .json file.");
        }

        string baseName = baseValue.GetValue<string>();
        var baseExperiment = LoadBase(baseName, specDirectory);

        var axes = new List<(string, IReadOnlyList<JsonNode?>)>();
        if (obj.ContainsKey("axes"))
        {
            if (obj["axes"] is not JsonObject axesObj)
            {
                throw new BeliefLensInputException("spec.axes: must be a map from a --set path to a list of values, e.g. training.seed: [1, 2, 3].");
            }

            foreach (var (axisPath, list) in axesObj)
            {
                CheckPath(axisPath, $"axes.{axisPath}");
                if (list is not JsonArray values)
                {
                    throw new BeliefLensInputException($"axes.{axisPath}: must be a list of values, e.g. [1, 2, 3].");
                }

                if (values.Count == 0)
                {
                    throw new BeliefLensInputException($"axes.{axisPath}: the axis is empty; give at least one value or remove it.");
                }

                axes.Add((axisPath, values.Select(v => v?.DeepClone()).ToArray()));
            }
        }

        List<IReadOnlyList<(string, JsonNode?)>>? runs = null;
        if (obj.ContainsKey("runs"))
        {
            if (obj["runs"] is not JsonArray runList)
            {
                throw new BeliefLensInputException("spec.runs: must be a list of override maps, e.g. [{model.n_layers: 1}, {model.n_layers: 2}].");
            }

            runs = [];
            for (int r = 0; r < runList.Count; r++)
            {
                if (runList[r] is not JsonObject map)
                {
                    throw new BeliefLensInputException($"runs[{r}]: must be a map from a --set path to a value.");
                }

                var overrides = new List<(string, JsonNode?)>();
                foreach (var (runPath, value) in map)
                {
                    CheckPath(runPath, $"runs[{r}].{runPath}");
                    if (axes.Any(a => a.Item1 == runPath))
                    {
                        throw new BeliefLensInputException($"runs[{r}].{runPath}: is also an axis; set it in one place only.");
                    }

                    overrides.Add((runPath, value?.DeepClone()));
                }

                runs.Add(overrides);
            }
        }

        return new SweepSpec(baseName, baseExperiment, axes, runs);
    }

    /// <summary>A path must name a section of the experiment and a field in it (the field itself is checked per job).</summary>
    private static void CheckPath(string path, string where)
    {
        string section = path.Split('.')[0];
        if (!Experiment.Fields.Contains(section, StringComparer.Ordinal))
        {
            throw new BeliefLensInputException($"{where}: unknown path; it must start with one of {string.Join(", ", Experiment.Fields)}.");
        }
    }

    private static JsonObject LoadBase(string name, string specDirectory)
    {
        if (Presets.Exists(name))
        {
            return Presets.Get(name);
        }

        string file = Path.IsPathRooted(name) ? name : Path.Combine(specDirectory, name);
        if (!name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && !File.Exists(file))
        {
            throw new BeliefLensInputException($"spec.base: '{name}' is neither a preset ({string.Join(", ", Presets.Names)}) nor an experiment .json file.");
        }

        if (!File.Exists(file))
        {
            throw new BeliefLensInputException($"spec.base: experiment file '{file}' does not exist.");
        }

        return JsonFields.ParseObject(File.ReadAllText(file), file);
    }

    private static JsonNode? ParseJson(string text, string path)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new BeliefLensInputException($"{path}: not valid JSON (line {ex.LineNumber + 1}): {ex.Message.Split('.')[0]}.");
        }
    }

    private static JsonNode? ParseYaml(string text, string path)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new BeliefLensInputException($"{path}: not valid YAML (line {ex.Start.Line}): {ex.Message.Split('\n')[0]}");
        }

        return stream.Documents.Count == 0 ? null : ToJson(stream.Documents[0].RootNode);
    }

    /// <summary>YAML → JSON: maps keep their order; plain scalars that read as JSON (numbers, true/false, null) keep their type.</summary>
    private static JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    string name = ((YamlScalarNode)key).Value ?? string.Empty;
                    if (obj.ContainsKey(name))
                    {
                        throw new BeliefLensInputException($"spec: key '{name}' appears twice (line {key.Start.Line}).");
                    }

                    obj[name] = ToJson(value);
                }

                return obj;
            case YamlSequenceNode seq:
                return new JsonArray(seq.Children.Select(ToJson).ToArray());
            case YamlScalarNode scalar:
                string s = scalar.Value ?? string.Empty;
                if (scalar.Style is ScalarStyle.Plain)
                {
                    if (s is "" or "~" or "null")
                    {
                        return null;
                    }

                    if (s is "true" or "false")
                    {
                        return JsonValue.Create(s == "true");
                    }

                    if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
                    {
                        return JsonValue.Create(l);
                    }

                    if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d))
                    {
                        return JsonValue.Create(d);
                    }
                }

                return JsonValue.Create(s);
            default:
                throw new BeliefLensInputException($"spec: unsupported YAML node at line {node.Start.Line}.");
        }
    }
}
