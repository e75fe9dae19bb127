package v1alpha1

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// filler writes a distinct non-zero value into every exported field reachable from a value. It
// reuses pointers, slices and maps that are already there (writing through them), so running it
// on a deep copy changes the original too if the copy shares any memory with it.
type filler struct{ n int }

func (f *filler) next() int { f.n++; return f.n }

var (
	timeType     = reflect.TypeOf(metav1.Time{})
	quantityType = reflect.TypeOf(resource.Quantity{})
	fieldsType   = reflect.TypeOf(metav1.FieldsV1{})
)

func (f *filler) fill(v reflect.Value, depth int) {
	if depth > 12 {
		return
	}
	switch v.Type() {
	case timeType:
		v.Set(reflect.ValueOf(metav1.Unix(int64(f.next()), 0)))
		return
	case quantityType:
		v.Set(reflect.ValueOf(resource.MustParse(fmt.Sprint(f.next()))))
		return
	case fieldsType: // managedFields entries must hold JSON
		v.Set(reflect.ValueOf(*metav1.NewFieldsV1(fmt.Sprintf(`{"f:k%d":{}}`, f.next()))))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		f.fill(v.Elem(), depth+1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).CanSet() {
				f.fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		}
		for i := 0; i < v.Len(); i++ {
			f.fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
			for i := 0; i < 2; i++ {
				k := reflect.New(v.Type().Key()).Elem()
				f.fill(k, depth+1)
				v.SetMapIndex(k, reflect.New(v.Type().Elem()).Elem())
			}
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", f.next()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.next() % 100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.next() % 100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.next()))
	case reflect.Bool:
		v.SetBool(!v.Bool())
	}
}

func TestDeepCopyRoundTrip(t *testing.T) {
	for _, obj := range []runtime.Object{
		&Agent{}, &AgentList{}, &Task{}, &TaskList{}, &KubeOpenCodeConfig{}, &KubeOpenCodeConfigList{},
	} {
		t.Run(fmt.Sprintf("%T", obj), func(t *testing.T) {
			f := &filler{}
			f.fill(reflect.ValueOf(obj), 0)
			before, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			if len(before) < 200 {
				t.Fatalf("filler left the object nearly empty: %s", before)
			}

			cp := obj.DeepCopyObject()
			if reflect.TypeOf(cp) != reflect.TypeOf(obj) {
				t.Fatalf("DeepCopyObject returned %T", cp)
			}
			if !equality.Semantic.DeepEqual(obj, cp) {
				t.Fatalf("copy differs from the original")
			}
			copied, err := json.Marshal(cp)
			if err != nil {
				t.Fatal(err)
			}
			if string(copied) != string(before) {
				t.Fatalf("copy serializes differently:\n%s\n%s", copied, before)
			}

			// Overwrite every field of the copy in place: the original must not change.
			f.fill(reflect.ValueOf(cp), 0)
			after, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(before) {
				t.Errorf("writing to the copy changed the original: it shares memory")
			}
			if changed, _ := json.Marshal(cp); string(changed) == string(before) {
				t.Errorf("the filler did not change the copy; the aliasing check proves nothing")
			}
		})
	}
}
