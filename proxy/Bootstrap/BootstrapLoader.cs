using System.Globalization;
using System.Text;
using System.Text.Json;
using Envoy.Config.Bootstrap.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Herald.Proxy.Config;
using Herald.Xds;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Herald.Proxy.Bootstrap;

/// <summary>
/// Reads an Envoy v3 bootstrap from YAML or JSON. YAML is turned into JSON (plain scalars
/// that look like numbers, booleans or null keep that type) and parsed by protobuf's JSON
/// parser, so field names, enums, durations and <c>typed_config</c> follow proto3 JSON.
/// </summary>
internal static class BootstrapLoader
{
    public static Envoy.Config.Bootstrap.V3.Bootstrap LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException("bootstrap", $"cannot read '{path}': {e.Message}", "Pass an existing, readable file to --bootstrap");
        }

        var isJson = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        return Parse(text, isJson);
    }

    public static Envoy.Config.Bootstrap.V3.Bootstrap Parse(string text, bool isJson = false)
    {
        var json = isJson ? text : YamlToJson(text);
        return ParseJson<Envoy.Config.Bootstrap.V3.Bootstrap>(json, "bootstrap");
    }

    public static T ParseJson<T>(string json, string what)
        where T : IMessage<T>, new()
    {
        try
        {
            TypeRegistry registry;
            using (var document = JsonDocument.Parse(json))
            {
                registry = EnvoyTypeRegistry.ForTypeNames(JsonShapeValidator.TypeNames(document.RootElement));
                JsonShapeValidator.Validate(document.RootElement, new T().Descriptor, string.Empty, registry);
            }

            var parser = new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(registry).WithIgnoreUnknownFields(false));
            return parser.Parse<T>(json);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ConfigException(what, e.Message.TrimEnd('.'), "Fix the field named above; see docs/configuration.md");
        }
        catch (InvalidJsonException e)
        {
            throw new ConfigException(what, $"invalid JSON: {e.Message.TrimEnd('.')}", "Fix the JSON syntax");
        }
        catch (JsonException e)
        {
            throw new ConfigException(what, $"invalid JSON: {e.Message.TrimEnd('.')}", "Fix the JSON syntax");
        }
        catch (FormatException e)
        {
            throw new ConfigException(what, e.Message.TrimEnd('.'), "Fix the value named above");
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigException(what, e.Message.TrimEnd('.'), "Check every @type in typed_config fields");
        }
    }

    public static string YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ConfigException(
                $"bootstrap line {e.Start.Line}, column {e.Start.Column}",
                $"invalid YAML: {Innermost(e).Message}",
                "Fix the YAML syntax at that line");
        }

        if (stream.Documents.Count != 1)
        {
            throw new ConfigException("bootstrap", $"expected one YAML document, found {stream.Documents.Count}", "Keep a single document in the bootstrap file");
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, stream.Documents[0].RootNode);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }

    private static void Write(Utf8JsonWriter writer, YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                writer.WriteStartObject();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (key, value) in mapping.Children)
                {
                    var name = key is YamlScalarNode scalarKey ? scalarKey.Value ?? string.Empty : throw Bad(key, "mapping keys must be scalars");
                    if (!seen.Add(name))
                    {
                        throw Bad(key, $"duplicate key '{name}'");
                    }

                    writer.WritePropertyName(name);
                    Write(writer, value);
                }

                writer.WriteEndObject();
                break;
            case YamlSequenceNode sequence:
                writer.WriteStartArray();
                foreach (var item in sequence.Children)
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case YamlScalarNode scalar:
                WriteScalar(writer, scalar);
                break;
            default:
                throw Bad(node, "unsupported YAML node (anchors and aliases are not supported)");
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, YamlScalarNode scalar)
    {
        var value = scalar.Value ?? string.Empty;
        if (scalar.Style is ScalarStyle.Plain)
        {
            switch (value)
            {
                case "" or "~" or "null" or "Null" or "NULL":
                    writer.WriteNullValue();
                    return;
                case "true" or "True" or "TRUE":
                    writer.WriteBooleanValue(true);
                    return;
                case "false" or "False" or "FALSE":
                    writer.WriteBooleanValue(false);
                    return;
            }

            if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            {
                writer.WriteNumberValue(integer);
                return;
            }

            if (value.Length > 0 && (char.IsDigit(value[0]) || value[0] is '-' or '.')
                && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
            {
                writer.WriteNumberValue(real);
                return;
            }
        }

        writer.WriteStringValue(value);
    }

    private static ConfigException Bad(YamlNode node, string problem) =>
        new($"bootstrap line {node.Start.Line}, column {node.Start.Column}", problem, "Fix the YAML at that line");
}
