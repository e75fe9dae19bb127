package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/kubeopencode/kubeopencode/api/crds"
)

// kindSchema is one of our CRDs, compiled the way the API server compiles it.
type kindSchema struct {
	kind       string
	namespaced bool
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator // nil when the schema has no x-kubernetes-validations
}

// compileEmbedded compiles the CRDs embedded in the api module, by kind.
func compileEmbedded() (map[string]*kindSchema, error) {
	docs, err := crds.Documents()
	if err != nil {
		return nil, err
	}
	out := map[string]*kindSchema{}
	for _, doc := range docs {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(doc), 4096)
		for {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := dec.Decode(crd); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("decoding an embedded CRD: %w", err)
			}
			if crd.Name == "" {
				continue
			}
			ks, err := compile(crd)
			if err != nil {
				return nil, err
			}
			out[ks.kind] = ks
		}
	}
	for _, k := range []string{KindAgent, KindTask, KindConfig} {
		if out[k] == nil {
			return nil, fmt.Errorf("the embedded CRDs have no %s", k)
		}
	}
	return out, nil
}

func compile(crd *apiextensionsv1.CustomResourceDefinition) (*kindSchema, error) {
	var v *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Name == Version {
			v = &crd.Spec.Versions[i]
		}
	}
	if v == nil || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("CRD %s: no schema for version %s", crd.Name, Version)
	}
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
		return nil, fmt.Errorf("CRD %s: converting the schema: %w", crd.Name, err)
	}
	s, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, fmt.Errorf("CRD %s: structural schema: %w", crd.Name, err)
	}
	sv, _, err := apiservervalidation.NewSchemaValidator(internal)
	if err != nil {
		return nil, fmt.Errorf("CRD %s: schema validator: %w", crd.Name, err)
	}
	return &kindSchema{
		kind:       crd.Spec.Names.Kind,
		namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural: s,
		schema:     sv,
		cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
	}, nil
}

// prune removes what our schema does not know, as the API server does on every read and write,
// and returns the removed paths (e.g. "spec.serverConfig", "spec.contexts[0].url").
func (k *kindSchema) prune(obj map[string]any) []string {
	paths := pruning.PruneWithOptions(obj, k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	defaulting.PruneNonNullableNullsWithoutDefaults(obj, k.structural)
	return paths
}

// validate runs what the API server runs on create (customResourceStrategy.Validate): the
// OpenAPI schema, embedded object metadata, list types and the CEL rules. obj must be pruned and
// defaulted. Unlike the API server, which skips the CEL rules after a missing, unsupported, too
// long, too many or wrongly typed value and reports the rest on the next attempt, validate
// evaluates them anyway (within the API server's runtime cost budget), so one run lists every
// refusal; only a wrongly typed value still skips them, because the rules assume the types.
func (k *kindSchema) validate(ctx context.Context, obj map[string]any) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, k.schema)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, obj, k.structural, false)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, k.structural, obj)...)
	if k.cel == nil {
		return errs
	}
	for _, e := range errs {
		if e.Type == field.ErrorTypeTypeInvalid {
			return append(errs, field.Invalid(nil, nil, "the CEL rules were not evaluated because a value has the wrong type; fix it and check again"))
		}
	}
	celErrs, _ := k.cel.Validate(ctx, nil, k.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}
