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
            return ParseNode(document.RootElement, label, defaultName, string.Empty, 0);
        }
    }

    private const int MaxNesting = 16;

    private static readonly string[] MixtureFields = ["name", "type", "components", "bos"];
    private static readonly string[] ProductFields = ["name", "type", "factors", "structure", "control_map", "noise", "max_joint_tokens"];
    private static readonly string[] ComponentFields = ["process", "params", "weight", "vocab_map"];
    private static readonly string[] FactorFields = ["process", "params", "variants"];
    private static readonly string[] VariantFields = ["process", "params"];

    private static string Join(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";

    // One process node: a plain hmm/ghmm, or a mixture/product whose parts are built-in names or nested nodes.
    private static Process ParseNode(JsonElement root, string label, string? defaultName, string path, int depth)
    {
        string here = path.Length == 0 ? "(root)" : path;
        if (depth > MaxNesting)
        {
            throw Error(label, here, $"nests processes more than {MaxNesting} deep; flatten the spec");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Error(label, here, "must be a JSON object with \"type\" (hmm, ghmm, mixture or product)");
        }

        string? type = null;
        if (root.TryGetProperty("type", out var typeElement))
        {
            type = typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString() : null;
            if (type is not ("hmm" or "ghmm" or "mixture" or "product"))
            {
                throw Error(label, Join(path, "type"), $"'{(typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString() : typeElement.GetRawText())}' is not \"hmm\", \"ghmm\", \"mixture\" or \"product\"");
            }
        }

        string[] known = type switch
        {
            "mixture" => MixtureFields,
            "product" => ProductFields,
            _ => KnownFields,
        };
        CheckFields(label, path, root, known);
        string? name = defaultName;
        if (root.TryGetProperty("name", out var nameElement))
        {
            if (nameElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(nameElement.GetString()))
            {
                throw Error(label, Join(path, "name"), "must be a non-empty string");
            }

            name = nameElement.GetString()!;
        }

        if (type is null)
        {
            throw Error(label, Join(path, "type"), "is required; use \"hmm\", \"ghmm\", \"mixture\" or \"product\"");
        }

        string prefix = path.Length == 0 ? string.Empty : path + ".";
        try
        {
            return type switch
            {
                "mixture" => ParseMixture(root, label, name, path, depth),
                "product" => ParseProduct(root, label, name, path, depth),
                _ => ParseMatrices(root, label, name ?? path, path, type == "hmm" ? ProcessKind.Hmm : ProcessKind.Ghmm),
            };
        }
        catch (BeliefLensInputException ex) when (!ex.Message.StartsWith(label + ": ", StringComparison.Ordinal))
        {
            throw new BeliefLensInputException($"{label}: {prefix}{ex.Message}");
        }
    }

    private static void CheckFields(string label, string path, JsonElement obj, string[] known)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                throw Error(label, Join(path, property.Name), $"unknown field; valid fields are {string.Join(", ", known)}");
            }

            if (!seen.Add(property.Name))
            {
                throw Error(label, Join(path, property.Name), "appears twice; give it once");
            }
        }
    }

    private static Process ParseMatrices(JsonElement root, string label, string name, string path, ProcessKind kind)
    {
        if (!root.TryGetProperty("transitions", out var transitionsElement))
        {
            throw Error(label, Join(path, "transitions"), "is required: an array [V][S][S] of token matrices");
        }

        string prefix = path.Length == 0 ? string.Empty : path + ".";
        var transitions = ReadTransitions(label, transitionsElement, prefix);
        int s = transitions[0].Length;
        int v = transitions.Length;
        double[]? initial = root.TryGetProperty("initial", out var initialElement) ? ReadVector(label, Join(path, "initial"), initialElement, s) : null;
        string[]? tokens = root.TryGetProperty("tokens", out var tokensElement) ? ReadNames(label, Join(path, "tokens"), tokensElement, v) : null;
        string[]? states = root.TryGetProperty("states", out var statesElement) ? ReadNames(label, Join(path, "states"), statesElement, s) : null;
        return Process.Create(string.IsNullOrEmpty(name) ? "custom" : name, kind, transitions, initial, tokens, states);
    }

    private static Process ParseMixture(JsonElement root, string label, string? name, string path, int depth)
    {
        if (!root.TryGetProperty("components", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            throw Error(label, Join(path, "components"), "is required: a non-empty array of {\"process\", \"params\"?, \"weight\"?, \"vocab_map\"?}");
        }

        int count = list.GetArrayLength();
        var components = new List<MixtureComponent>();
        int weighted = 0;
        int c = 0;
        foreach (var item in list.EnumerateArray())
        {
            string at = Join(path, $"components[{c}]");
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw Error(label, at, "must be an object {\"process\", \"params\"?, \"weight\"?, \"vocab_map\"?}");
            }

            CheckFields(label, at, item, ComponentFields);
            var process = ParsePart(item, label, at, depth);
            double weight = double.NaN;
            if (item.TryGetProperty("weight", out var w))
            {
                if (w.ValueKind != JsonValueKind.Number || !w.TryGetDouble(out weight) || !double.IsFinite(weight))
                {
                    throw Error(label, Join(at, "weight"), "must be a number");
                }

                weighted++;
            }

            int[]? map = item.TryGetProperty("vocab_map", out var m) ? ReadIntegers(label, Join(at, "vocab_map"), m) : null;
            components.Add(new MixtureComponent(process, weight, map));
            c++;
        }

        if (weighted == 0)
        {
            components = components.Select(k => k with { Weight = 1.0 / count }).ToList();
        }
        else if (weighted != count)
        {
            int missing = components.FindIndex(k => double.IsNaN(k.Weight));
            throw Error(label, Join(path, $"components[{missing}].weight"), "is missing; give every component a weight (summing to 1) or none (uniform)");
        }

        bool bos = false;
        if (root.TryGetProperty("bos", out var b))
        {
            bos = b.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error(label, Join(path, "bos"), "must be true or false"),
            };
        }

        return ProcessBuilders.Mixture(components, bos, name);
    }

    private static Process ParseProduct(JsonElement root, string label, string? name, string path, int depth)
    {
        if (!root.TryGetProperty("factors", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            throw Error(label, Join(path, "factors"), "is required: a non-empty array of {\"process\", \"params\"?} or {\"variants\": [...]}");
        }

        var factors = new List<ProductFactor>();
        int f = 0;
        foreach (var item in list.EnumerateArray())
        {
            string at = Join(path, $"factors[{f}]");
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw Error(label, at, "must be an object {\"process\", \"params\"?} or {\"variants\": [...]}");
            }

            CheckFields(label, at, item, FactorFields);
            if (item.TryGetProperty("variants", out var variants))
            {
                if (item.TryGetProperty("process", out _) || item.TryGetProperty("params", out _))
                {
                    throw Error(label, at, "give either \"process\" or \"variants\", not both");
                }

                if (variants.ValueKind != JsonValueKind.Array || variants.GetArrayLength() == 0)
                {
                    throw Error(label, Join(at, "variants"), "must be a non-empty array of {\"process\", \"params\"?}");
                }

                var processes = new List<Process>();
                int k = 0;
                foreach (var variant in variants.EnumerateArray())
                {
                    string vat = Join(at, $"variants[{k++}]");
                    if (variant.ValueKind != JsonValueKind.Object)
                    {
                        throw Error(label, vat, "must be an object {\"process\", \"params\"?}");
                    }

                    CheckFields(label, vat, variant, VariantFields);
                    processes.Add(ParsePart(variant, label, vat, depth));
                }

                factors.Add(new ProductFactor(processes));
            }
            else
            {
                factors.Add(new ProductFactor(ParsePart(item, label, at, depth)));
            }

            f++;
        }

        var structure = ProductStructure.Independent;
        if (root.TryGetProperty("structure", out var st))
        {
            structure = (st.ValueKind == JsonValueKind.String ? st.GetString() : null) switch
            {
                "independent" => ProductStructure.Independent,
                "chain" => ProductStructure.Chain,
                "symmetric" => ProductStructure.Symmetric,
                "transition_coupled" => ProductStructure.TransitionCoupled,
                _ => throw Error(label, Join(path, "structure"), $"'{(st.ValueKind == JsonValueKind.String ? st.GetString() : st.GetRawText())}' is not \"independent\", \"chain\", \"symmetric\" or \"transition_coupled\""),
            };
        }

        List<IReadOnlyList<int>>? controlMap = null;
        if (root.TryGetProperty("control_map", out var cm))
        {
            if (cm.ValueKind != JsonValueKind.Array)
            {
                throw Error(label, Join(path, "control_map"), "must be an array of arrays of variant indices");
            }

            controlMap = [];
            int m = 0;
            foreach (var row in cm.EnumerateArray())
            {
                controlMap.Add(ReadIntegers(label, Join(path, $"control_map[{m++}]"), row));
            }
        }

        double noise = 0;
        if (root.TryGetProperty("noise", out var ne) && (ne.ValueKind != JsonValueKind.Number || !ne.TryGetDouble(out noise) || !double.IsFinite(noise)))
        {
            throw Error(label, Join(path, "noise"), "must be a number in [0, 1]");
        }

        long maxJoint = ProcessBuilders.DefaultMaxJointTokens;
        if (root.TryGetProperty("max_joint_tokens", out var mj) && (mj.ValueKind != JsonValueKind.Number || !mj.TryGetInt64(out maxJoint) || maxJoint < 1))
        {
            throw Error(label, Join(path, "max_joint_tokens"), "must be a positive whole number");
        }

        return ProcessBuilders.Product(factors, structure, controlMap, noise, maxJoint, name);
    }

    // A component, factor or variant: "process" is a built-in name (with optional "params") or an inline spec object.
    private static Process ParsePart(JsonElement item, string label, string at, int depth)
    {
        if (!item.TryGetProperty("process", out var process))
        {
            throw Error(label, Join(at, "process"), "is required: a built-in name or an inline spec object");
        }

        bool hasParams = item.TryGetProperty("params", out var parameters);
        if (process.ValueKind == JsonValueKind.Object)
        {
            if (hasParams)
            {
                throw Error(label, Join(at, "params"), "applies only to a built-in process name; put the numbers in the inline spec");
            }

            return ParseNode(process, label, null, Join(at, "process"), depth + 1);
        }

        if (process.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(process.GetString()))
        {
            throw Error(label, Join(at, "process"), "must be a built-in name (see 'belieflens processes') or an inline spec object");
        }

        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        if (hasParams)
        {
            if (parameters.ValueKind != JsonValueKind.Object)
            {
                throw Error(label, Join(at, "params"), "must be an object of numbers, e.g. {\"x\": 0.15}");
            }

            foreach (var p in parameters.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out double value) || !double.IsFinite(value))
                {
                    throw Error(label, Join(at, $"params.{p.Name}"), "must be a finite number");
                }

                values[p.Name] = value;
            }
        }

        string builtin = process.GetString()!;
        if (!BuiltinProcesses.Exists(builtin))
        {
            throw Error(label, Join(at, "process"), $"unknown built-in '{builtin}'; valid ones are {string.Join(", ", BuiltinProcesses.All.Select(b => b.Name))}, or give an inline spec object");
        }

        try
        {
            return BuiltinProcesses.Create(builtin, values);
        }
        catch (BeliefLensInputException ex)
        {
            // Built-ins name their parameters as --param k; in a spec the field is params.k.
            string message = ex.Message.StartsWith("--param ", StringComparison.Ordinal) ? "params." + ex.Message["--param ".Length..] : ex.Message;
            throw new BeliefLensInputException($"{label}: {at}.{message}");
        }
    }

    private static int[] ReadIntegers(string label, string field, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw Error(label, field, "must be an array of whole numbers");
        }

        var result = new int[element.GetArrayLength()];
        int k = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out result[k]))
            {
                throw Error(label, $"{field}[{k}]", $"'{item.GetRawText()}' is not a whole number");
            }

            k++;
        }

        return result;
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

    private static double[][][] ReadTransitions(string label, JsonElement element, string prefix)
    {
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() == 0)
        {
            throw Error(label, prefix + "transitions", "must be a non-empty array of token matrices, shape [V][S][S]");
        }

        int v = element.GetArrayLength();
        var result = new double[v][][];
        int s = -1;
        int x = 0;
        foreach (var matrix in element.EnumerateArray())
        {
            string field = $"{prefix}transitions[{x}]";
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
                throw Error(label, field, $"has {matrix.GetArrayLength()} rows but {prefix}transitions[0] has {s}; every token matrix must be S×S");
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
