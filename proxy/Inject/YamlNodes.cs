using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Herald.Proxy.Inject;

/// <summary>Small helpers to read and build Kubernetes YAML nodes.</summary>
internal static class YamlNodes
{
    public static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    /// <summary>The scalar's text, or null when the key is absent, null or not a scalar.</summary>
    public static string? Text(YamlMappingNode map, string key) =>
        Child(map, key) is YamlScalarNode { Value: { } value } scalar && !IsNull(scalar) ? value : null;

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    /// <summary>A string scalar: quoted when a plain scalar would read as something else (a number, a boolean, null).</summary>
    public static YamlScalarNode String(string value) =>
        new(value) { Style = NeedsQuotes(value) ? ScalarStyle.DoubleQuoted : ScalarStyle.Plain };

    public static YamlScalarNode Int(long value) => new(value.ToString(CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain };

    public static YamlScalarNode Bool(bool value) => new(value ? "true" : "false") { Style = ScalarStyle.Plain };

    public static YamlSequenceNode Strings(IEnumerable<string> values)
    {
        var sequence = new YamlSequenceNode();
        foreach (var value in values)
        {
            sequence.Add(String(value));
        }

        return sequence;
    }

    public static YamlMappingNode Map(params (string Key, YamlNode Value)[] entries)
    {
        var map = new YamlMappingNode();
        foreach (var (key, value) in entries)
        {
            map.Add(new YamlScalarNode(key), value);
        }

        return map;
    }

    /// <summary>Sets a key, keeping its place when it exists; a new key goes before <paramref name="before"/> when that key exists, else last.</summary>
    public static void Set(YamlMappingNode map, string key, YamlNode value, string? before = null)
    {
        var scalarKey = new YamlScalarNode(key);
        var children = map.Children;
        for (var i = 0; i < children.Count; i++)
        {
            if (children[i].Key.Equals(scalarKey))
            {
                var existingKey = children[i].Key;
                children.RemoveAt(i);
                children.Insert(i, existingKey, value);
                return;
            }
        }

        if (before is not null)
        {
            var beforeKey = new YamlScalarNode(before);
            for (var i = 0; i < children.Count; i++)
            {
                if (children[i].Key.Equals(beforeKey))
                {
                    children.Insert(i, scalarKey, value);
                    return;
                }
            }
        }

        map.Add(scalarKey, value);
    }

    private static bool NeedsQuotes(string value)
    {
        if (value.Length == 0 || IsNull(new YamlScalarNode(value) { Style = ScalarStyle.Plain }))
        {
            return true;
        }

        if (value is "true" or "false" or "True" or "False" or "TRUE" or "FALSE" or "yes" or "no" or "on" or "off" or "y" or "n" or "Yes" or "No" or "On" or "Off")
        {
            return true;
        }

        // Numbers of any YAML 1.1/1.2 form; the emitter itself quotes what a plain scalar cannot hold.
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            || value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            || value.StartsWith("0o", StringComparison.OrdinalIgnoreCase)
            || value is ".inf" or "-.inf" or ".nan" or ".Inf" or ".NaN";
    }
}
