package localcel

import (
	"context"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// Rules evaluates the x-kubernetes-validations of one CRD version's schema.
type Rules struct {
	validator *cel.Validator
}

// Compile prepares the rules of the first version of crd.
func Compile(crd *apiextensionsv1.CustomResourceDefinition) (*Rules, error) {
	if len(crd.Spec.Versions) == 0 || crd.Spec.Versions[0].Schema == nil {
		return nil, fmt.Errorf("%s: no schema", crd.Name)
	}
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, internal, nil); err != nil {
		return nil, fmt.Errorf("%s: converting schema: %w", crd.Name, err)
	}
	structural, err := schema.NewStructural(internal)
	if err != nil {
		return nil, fmt.Errorf("%s: structural schema: %w", crd.Name, err)
	}
	v := cel.NewValidator(structural, true, celconfig.PerCallLimit)
	if v == nil {
		return nil, fmt.Errorf("%s: no CEL rules", crd.Name)
	}
	return &Rules{validator: v}, nil
}

// Validate runs every rule against obj (a decoded JSON object) as on create, with the API
// server's runtime cost budget, and returns the failures.
func (r *Rules) Validate(ctx context.Context, obj map[string]any) field.ErrorList {
	errs, _ := r.validator.Validate(ctx, nil, nil, obj, nil, celconfig.RuntimeCELCostBudget)
	return errs
}
