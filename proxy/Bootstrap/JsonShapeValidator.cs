using System.Text.Json;
using Google.Protobuf.Reflection;
using Herald.Proxy.Config;
using Herald.Xds;

namespace Herald.Proxy.Bootstrap;

/// <summary>
/// Walks configuration JSON along the proto descriptors before protobuf parses it, so an
/// unknown field or an unknown <c>@type</c> is reported with its full path (protobuf's
/// own JSON errors do not say where).
/// </summary>
internal static class JsonShapeValidator
{
    public static void Validate(JsonElement element, MessageDescriptor descriptor, string path, TypeRegistry registry)
    {
        if (IsWellKnown(descriptor))
        {
            return;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            if (element.ValueKind == JsonValueKind.Null)
            {
                return;
            }

            throw new ConfigException(Display(path), $"expected an object for {descriptor.FullName}, found {element.ValueKind}", "Use a mapping here");
        }

        if (descriptor.FullName == "google.protobuf.Any")
        {
            ValidateAny(element, path, registry);
            return;
        }

        foreach (var property in element.EnumerateObject())
        {
            var field = descriptor.FindFieldByName(property.Name) ?? FindByJsonName(descriptor, property.Name);
            var fieldPath = FieldPolicy.Join(path, property.Name);
            if (field is null)
            {
                throw new ConfigException(
                    Display(fieldPath),
                    $"unknown field '{property.Name}' in {descriptor.FullName}",
                    "Check the spelling against Envoy's v3 API; see docs/configuration.md");
            }

            if (field.FieldType != FieldType.Message || field.IsMap)
            {
                continue;
            }

            if (field.IsRepeated)
            {
                if (property.Value.ValueKind != JsonValueKind.Array)
                {
                    if (property.Value.ValueKind == JsonValueKind.Null)
                    {
                        continue;
                    }

                    throw new ConfigException(Display(fieldPath), $"expected a list, found {property.Value.ValueKind}", "Use a YAML sequence here");
                }

                var index = 0;
                foreach (var item in property.Value.EnumerateArray())
                {
                    Validate(item, field.MessageType, $"{fieldPath}[{index++}]", registry);
                }
            }
            else
            {
                Validate(property.Value, field.MessageType, fieldPath, registry);
            }
        }
    }

    /// <summary>The message names of every <c>@type</c> in the document, for its type registry.</summary>
    public static IReadOnlyCollection<string> TypeNames(JsonElement root)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        Collect(root, names);
        return names;

        static void Collect(JsonElement element, HashSet<string> names)
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, names);
                }
            }
            else if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "@type" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        names.Add(TypeName(property.Value.GetString() ?? string.Empty));
                    }
                    else
                    {
                        Collect(property.Value, names);
                    }
                }
            }
        }
    }

    private static string TypeName(string typeUrl) => typeUrl[(typeUrl.LastIndexOf('/') + 1)..];

    private static void ValidateAny(JsonElement element, string path, TypeRegistry registry)
    {
        if (!element.TryGetProperty("@type", out var typeProperty) || typeProperty.ValueKind != JsonValueKind.String)
        {
            throw new ConfigException(Display(path), "typed_config needs an \"@type\"", "Add \"@type\": type.googleapis.com/<message name>");
        }

        var typeUrl = typeProperty.GetString() ?? string.Empty;
        var name = TypeName(typeUrl);
        var descriptor = registry.Find(name);
        if (descriptor is null)
        {
            throw new ConfigException(Display(path), $"unknown type '{typeUrl}'", "Use a type Herald supports; see docs/configuration.md");
        }

        if (IsWellKnown(descriptor))
        {
            return;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (property.Name == "@type")
            {
                continue;
            }

            var field = descriptor.FindFieldByName(property.Name) ?? FindByJsonName(descriptor, property.Name);
            if (field is null)
            {
                throw new ConfigException(
                    Display(FieldPolicy.Join(path, property.Name)),
                    $"unknown field '{property.Name}' in {descriptor.FullName}",
                    "Check the spelling against Envoy's v3 API; see docs/configuration.md");
            }
        }

        using var document = JsonDocument.Parse(StripType(element));
        Validate(document.RootElement, descriptor, path, registry);
    }

    private static string StripType(JsonElement element)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name != "@type")
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static FieldDescriptor? FindByJsonName(MessageDescriptor descriptor, string name)
    {
        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (field.JsonName == name)
            {
                return field;
            }
        }

        return null;
    }

    private static bool IsWellKnown(MessageDescriptor descriptor) =>
        descriptor.File.Package == "google.protobuf" && descriptor.FullName != "google.protobuf.Any";

    private static string Display(string path) => path.Length == 0 ? "bootstrap" : path;
}
