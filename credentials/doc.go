// Package credentials turns Secret references into environment variables and files.
package credentials
